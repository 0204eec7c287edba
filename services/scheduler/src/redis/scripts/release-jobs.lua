--[[
  Hand-back: a worker returns jobs it leased, and they are ready again at once
  (nobody waits for the lease to expire). Which attempt counts depends on
  whether the handlers ran:
    attempts_ran '0'  the jobs did not run (graceful shutdown before they
                      started): the attempt is given back, RELEASED, status
                      pending, reason "worker_released", attempt = attempts - 1;
    attempts_ran '1'  the handlers ran and were stopped (a shutdown past its
                      grace period): the attempt counts, so that a job stopped
                      on every rollout still runs out of attempts. RELEASED,
                      pending, reason "handler_stopped", attempt = the attempt
                      that ran; or, when that was the last attempt, FAILED,
                      reason "attempts_exhausted", error "handler stopped on
                      worker shutdown", and the job is finished.
  A job whose cancel was requested ends CANCELLED instead (reason
  "cancel_requested"), since nobody wants it run any more. Every event carries
  the released lease's token.

  KEYS[1] ready zset
  KEYS[2] leased zset
  KEYS[3] outbox stream
  KEYS[4] job hash prefix

  ARGV[1] worker id
  ARGV[2] seconds a finished job's hash is kept
  ARGV[3] attempts_ran: '1' the handlers ran (attempts count), '0' they did not
  ARGV[4..] pairs: job id, lease token

  Returns the number of leases handed back, whatever became of their jobs
  (pairs whose token did not match a live lease are skipped).
]]

local ready, leased, outbox, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local worker, ttl_s, attempts_ran = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local actor = 'worker:' .. worker
local now = now_ms()
local released = 0

-- The job ran out of attempts: it ends here, like a failure reported on the last attempt.
local function fail_stopped(key, id, ev)
  ev.type, ev.status, ev.reason = 'FAILED', 'failed', 'attempts_exhausted'
  ev.error = 'handler stopped on worker shutdown'
  emit(outbox, key, id, ev)
  finish(key, ttl_s)
end

for i = 4, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local key = job_prefix .. id
  local f = redis.call('HMGET', key, 'state', 'token', 'attempts', 'cancel', 'max_attempts')
  if f[1] == 'leased' and f[2] == token then
    redis.call('ZREM', leased, id)
    local attempts = tonumber(f[3])
    local ev = { at = now, actor = actor, worker = worker, lease = token, attempt = attempts }
    if f[4] == '1' then
      ev.type, ev.status = 'CANCELLED', 'cancelled'
      ev.reason, ev.details = 'cancel_requested', cancel_details(key)
      emit(outbox, key, id, ev)
      finish(key, ttl_s)
    elseif attempts_ran and attempts >= tonumber(f[5]) then
      fail_stopped(key, id, ev)
    elseif attempts_ran then
      make_ready(ready, key, id, now)
      ev.type, ev.status, ev.reason = 'RELEASED', 'pending', 'handler_stopped'
      emit(outbox, key, id, ev)
    else
      -- The attempt did not run, so it does not count against max_attempts.
      attempts = attempts - 1
      redis.call('HSET', key, 'attempts', attempts)
      make_ready(ready, key, id, now)
      ev.type, ev.status, ev.attempt, ev.reason = 'RELEASED', 'pending', attempts, 'worker_released'
      emit(outbox, key, id, ev)
    end
    released = released + 1
  end
end

return released
