--[[
  Hand-back: leased jobs are ready again at once (nobody waits for the lease
  to expire). Which attempt counts depends on whether the handlers ran:
    attempts_ran '0'  the jobs did not run (a graceful shutdown before they
                      started, or a lease answer the caller never received):
                      the attempt is given back, RELEASED, status pending,
                      attempt = attempts - 1, with the reason given;
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

  KEYS[1] ready set prefix (one zset per type)
  KEYS[2] set of types with ready jobs
  KEYS[3] leased zset
  KEYS[4] outbox stream
  KEYS[5] job hash prefix

  ARGV[1] worker id
  ARGV[2] reason of the RELEASED events of unrun jobs: "worker_released" (the
          worker handed them back) or "lease_not_delivered" (the scheduler
          did: the caller went away before the lease answer reached it)
  ARGV[3] actor of the events ('' for "worker:<id>")
  ARGV[4] attempts_ran: '1' the handlers ran (attempts count), '0' they did not
  ARGV[5..] pairs: job id, lease token

  Returns { released, { type1, n1, ... } }: the number of leases handed back,
  whatever became of their jobs (pairs whose token did not match a live lease
  are skipped), and, per type, the jobs that became ready.
]]

local ready_prefix, types, leased, outbox, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local worker, reason, actor, attempts_ran = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
if actor == '' then
  actor = 'worker:' .. worker
end
local now = now_ms()
local released = 0
local counts = {}

for i = 5, #ARGV, 2 do
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
      finish(key)
    elseif attempts_ran and attempts >= tonumber(f[5]) then
      -- Out of attempts: it ends here, like a failure reported on the last attempt.
      ev.type, ev.status, ev.reason = 'FAILED', 'failed', 'attempts_exhausted'
      ev.error = 'handler stopped on worker shutdown'
      emit(outbox, key, id, ev)
      finish(key)
    else
      if not attempts_ran then
        -- The attempt did not run, so it does not count against max_attempts.
        attempts = attempts - 1
        redis.call('HSET', key, 'attempts', attempts)
        ev.attempt, ev.reason = attempts, reason
      else
        ev.reason = 'handler_stopped'
      end
      count_type(counts, make_ready(ready_prefix, types, key, id, now))
      ev.type, ev.status = 'RELEASED', 'pending'
      emit(outbox, key, id, ev)
    end
    released = released + 1
  end
end

return { released, flat_counts(counts) }
