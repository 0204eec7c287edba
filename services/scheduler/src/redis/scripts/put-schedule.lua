--[[
  Writes a schedule's firing state from its definition in history, unless Redis holds that
  version or a newer one (fencing: a late write of an older definition, or of a schedule
  deleted since, changes nothing).

  KEYS[1] the schedule's hash (<prefix>:{~schedules}:schedule:<id>)
  KEYS[2] the due zset (<prefix>:{~schedules}:due): schedule id, score = next tick (ms)

  ARGV[1] schedule id
  ARGV[2] version (history's, increasing with every change)
  ARGV[3] definition as JSON (spec, template, overlap, catch-up)
  ARGV[4] next tick in ms since the epoch; 0: none (paused, or the cron fires no more)
  ARGV[5] last run's job id as history knows it ("" none): set only when Redis holds none
  ARGV[6] that job's queue
  ARGV[7] that run's tick, in ms

  Returns 1 when written, 0 when Redis holds this version or a newer one.
]]

local stored = redis.call('HGET', KEYS[1], 'version')
if stored and tonumber(stored) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HDEL', KEYS[1], 'deleted')
redis.call('PERSIST', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'def', ARGV[3])
if ARGV[5] ~= '' and redis.call('HEXISTS', KEYS[1], 'last_job_id') == 0 then
  redis.call('HSET', KEYS[1], 'last_job_id', ARGV[5], 'last_job_queue', ARGV[6], 'last_run_ms', ARGV[7])
end
if tonumber(ARGV[4]) > 0 then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
