--[[
  Graceful hand-back: jobs a worker leased but did not run go back to the
  ready set at once, and the attempt does not count (RELEASED, reason
  "worker_released"). A job whose cancel was requested ends CANCELLED instead
  (reason "cancel_requested"), since nobody wants it run any more. Both events
  carry the released lease's token.

  KEYS[1] ready set prefix (one zset per type)
  KEYS[2] set of types with ready jobs
  KEYS[3] leased zset
  KEYS[4] outbox stream
  KEYS[5] job hash prefix

  ARGV[1] worker id
  ARGV[2] reason of the RELEASED events: "worker_released" (the worker handed
          the jobs back) or "lease_not_delivered" (the scheduler did: the
          caller went away before the lease answer reached it)
  ARGV[3] actor of the events ('' for "worker:<id>")
  ARGV[4..] pairs: job id, lease token

  Returns { released, { type1, n1, ... } }: the number of leases released
  (pairs whose token did not match a live lease are skipped) and, per type,
  the jobs that became ready.
]]

local ready_prefix, types, leased, outbox, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local worker, reason = ARGV[1], ARGV[2]
local actor = ARGV[3]
if actor == '' then
  actor = 'worker:' .. worker
end
local now = now_ms()
local released = 0
local counts = {}

for i = 4, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local key = job_prefix .. id
  local f = redis.call('HMGET', key, 'state', 'token', 'attempts', 'cancel')
  if f[1] == 'leased' and f[2] == token then
    redis.call('ZREM', leased, id)
    local ev = { at = now, actor = actor, worker = worker, lease = token }
    if f[4] == '1' then
      ev.type, ev.status, ev.attempt = 'CANCELLED', 'cancelled', tonumber(f[3])
      ev.reason, ev.details = 'cancel_requested', cancel_details(key)
      emit(outbox, key, id, ev)
      finish(key)
    else
      -- The attempt did not run, so it does not count against max_attempts.
      local attempts = tonumber(f[3]) - 1
      redis.call('HSET', key, 'attempts', attempts)
      count_type(counts, make_ready(ready_prefix, types, key, id, now))
      ev.type, ev.status, ev.attempt, ev.reason = 'RELEASED', 'pending', attempts, reason
      emit(outbox, key, id, ev)
    end
    released = released + 1
  end
end

return { released, flat_counts(counts) }
