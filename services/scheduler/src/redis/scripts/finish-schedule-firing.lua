--[[
  Ends a firing its holder carried out: clears it and records the schedule's last run. A
  holder whose firing was taken over (see retake-schedule-firing.lua) changes nothing.

  KEYS[1] the schedule's hash
  KEYS[2] the firing zset

  ARGV[1] schedule id
  ARGV[2] the firing's token
  ARGV[3] the last run's job id ("" when the firing submitted none)
  ARGV[4] that job's queue
  ARGV[5] that run's tick (ms)

  Returns 1 when ended, 0 when the token is no longer the firing's.
]]

if redis.call('HGET', KEYS[1], 'firing_token') ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[1], 'firing', 'firing_token')
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'last_job_id', ARGV[3], 'last_job_queue', ARGV[4], 'last_run_ms', ARGV[5])
end
return 1
