--[[
  Records a run submitted outside the tick sequence (TriggerSchedule) as the schedule's last
  run, so later ticks apply the overlap policy to it; an older run changes nothing.

  KEYS[1] the schedule's hash

  ARGV[1] the run's job id
  ARGV[2] its queue
  ARGV[3] when it ran (ms)

  Returns 1 when recorded, 0 when the schedule is unknown, deleted or has a newer run.
]]

if redis.call('HEXISTS', KEYS[1], 'def') == 0 then
  return 0
end
local last = redis.call('HGET', KEYS[1], 'last_run_ms')
if last and tonumber(last) > tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'last_job_id', ARGV[1], 'last_job_queue', ARGV[2], 'last_run_ms', ARGV[3])
return 1
