--[[
  Cancels one job. A ready or delayed job ends at once with a CANCELLED
  event (no lease: it was not running); a leased job gets its cancel flag
  set, which its worker learns at the next heartbeat (and expire-leases
  honours if the worker is gone). The request's details and actor are kept on
  the hash, so the CANCELLED event that later ends the attempt still says who
  asked and why (see cancel_details in include/common.lua).

  KEYS[1] ready set prefix (one zset per type)
  KEYS[2] set of types with ready jobs
  KEYS[3] delayed zset
  KEYS[4] outbox stream
  KEYS[5] the job's hash

  ARGV[1] job id
  ARGV[2] details JSON recorded with the event (e.g. the caller's reason), or ''
  ARGV[3] actor: who asked, "api" or "api:<caller>"

  Returns 1 CANCELLED (stopped now), 2 REQUESTED (running; its worker will
  stop), -1 JOB_MISSING (Redis does not know the job), -2 JOB_FINISHED (it
  already reached a terminal status).
]]

local ready_prefix, types, delayed, outbox, key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, details, actor = ARGV[1], ARGV[2], ARGV[3]

local f = redis.call('HMGET', key, 'state', 'attempts', 'type')
local state = f[1]
if not state then
  return -1
end
if state == 'done' then
  return -2
end
if state == 'leased' then
  redis.call('HSET', key, 'cancel', 1, 'cancel_by', actor, 'cancel_details', details)
  return 2
end

remove_ready(ready_prefix, types, f[3] or '', id)
redis.call('ZREM', delayed, id)
emit(outbox, key, id, { type = 'CANCELLED', status = 'cancelled', attempt = tonumber(f[2]),
  at = now_ms(), actor = actor, reason = 'cancel_requested', details = details })
finish(key)
return 1
