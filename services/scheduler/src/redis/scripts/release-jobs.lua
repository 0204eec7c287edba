--[[
  Graceful hand-back: jobs a worker leased but did not run go back to the
  ready set at once, and the attempt does not count (RELEASED, reason
  "worker_released"). A job whose cancel was requested ends CANCELLED instead
  (reason "cancel_requested"), since nobody wants it run any more. Both events
  carry the released lease's token.

  KEYS[1] ready zset
  KEYS[2] leased zset
  KEYS[3] outbox stream
  KEYS[4] job hash prefix

  ARGV[1] worker id
  ARGV[2] seconds a finished job's hash is kept
  ARGV[3..] pairs: job id, lease token

  Returns the number of leases released (pairs whose token did not match a
  live lease are skipped).
]]

local ready, leased, outbox, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local worker, ttl_s = ARGV[1], tonumber(ARGV[2])
local actor = 'worker:' .. worker
local now = now_ms()
local released = 0

for i = 3, #ARGV, 2 do
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
      finish(key, ttl_s)
    else
      -- The attempt did not run, so it does not count against max_attempts.
      local attempts = tonumber(f[3]) - 1
      redis.call('HSET', key, 'attempts', attempts)
      make_ready(ready, key, id, now)
      ev.type, ev.status, ev.attempt, ev.reason = 'RELEASED', 'pending', attempts, 'worker_released'
      emit(outbox, key, id, ev)
    end
    released = released + 1
  end
end

return released
