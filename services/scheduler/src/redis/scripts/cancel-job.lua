--[[
  Cancels one job. A ready or delayed job ends at once with a CANCELLED
  event (no lease: it was not running); a leased job gets its cancel flag
  set, which its worker learns at the next heartbeat (and expire-leases
  honours if the worker is gone). The request's details and actor are kept on
  the hash, so the CANCELLED event that later ends the attempt still says who
  asked and why (see cancel_details in include/common.lua).

  KEYS[1] set of types with ready jobs
  KEYS[2] delayed zset
  KEYS[3] outbox stream
  KEYS[4] the job's hash
  KEYS[5..4+n] the ready sets of the n job types declared in ARGV (the job's)

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  then, from a = n + 2:
  ARGV[a] job id
  ARGV[a+1] details JSON recorded with the event (e.g. the caller's reason), or ''
  ARGV[a+2] actor: who asked, "api" or "api:<caller>"

  Returns 1 CANCELLED (stopped now), 2 REQUESTED (running; its worker will
  stop), -1 JOB_MISSING (Redis does not know the job), -2 JOB_FINISHED (it
  already reached a terminal status); or the error TF_UNDECLARED_TYPES (see
  include/common.lua) when the job's type has no declared ready set.
]]

local types, delayed, outbox, key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local at = declare_ready(5)
local id, details, actor = ARGV[at], ARGV[at + 1], ARGV[at + 2]

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
local refused = check_types({ f[3] or '' })
if refused then
  return refused
end

remove_ready(types, f[3] or '', id)
redis.call('ZREM', delayed, id)
emit(outbox, key, id, { type = 'CANCELLED', status = 'cancelled', attempt = tonumber(f[2]),
  at = now_ms(), actor = actor, reason = 'cancel_requested', details = details })
finish(key)
return 1
