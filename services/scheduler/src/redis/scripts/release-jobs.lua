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

  KEYS[1] set of types with ready jobs
  KEYS[2] leased zset
  KEYS[3] outbox stream
  KEYS[4] running hash: leased jobs per type
  KEYS[5..4+n] the ready sets of the n job types declared in ARGV (those of
               the jobs named)
  KEYS[5+n..] the jobs' hashes, one per pair in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  then, from a = n + 2:
  ARGV[a] worker id
  ARGV[a+1] reason of the RELEASED events of unrun jobs: "worker_released"
            (the worker handed them back) or "lease_not_delivered" (the
            scheduler did: the caller went away before the lease answer
            reached it)
  ARGV[a+2] actor of the events ('' for "worker:<id>")
  ARGV[a+3] attempts_ran: '1' the handlers ran (attempts count), '0' they did not
  ARGV[a+4..] pairs: job id, lease token

  Returns { released, { type1, n1, ... } }: the number of leases handed back,
  whatever became of their jobs (pairs whose token did not match a live lease
  are skipped), and, per type, the jobs that became ready; or the error
  TF_UNDECLARED_TYPES (see include/common.lua) when a job's type has no
  declared ready set.
]]

local types, leased, outbox, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local at, job_at = declare_ready(5)
local worker, reason, actor, attempts_ran = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3] == '1'
local first = at + 4
if actor == '' then
  actor = 'worker:' .. worker
end
local now = now_ms()
local released = 0
local counts = {}

local job_keys = {}
for i = first, #ARGV, 2 do
  job_keys[#job_keys + 1] = KEYS[job_at + (i - first) / 2]
end
local refused = check_types(types_of(job_keys))
if refused then
  return refused
end

for i = first, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local key = job_keys[1 + (i - first) / 2]
  local f = redis.call('HMGET', key, 'state', 'token', 'attempts', 'cancel', 'max_attempts', 'type')
  if f[1] == 'leased' and f[2] == token then
    unlease(leased, running, id, f[6])
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
      count_type(counts, make_ready(types, key, id, now))
      ev.type, ev.status = 'RELEASED', 'pending'
      emit(outbox, key, id, ev)
    end
    released = released + 1
  end
end

return { released, flat_counts(counts) }
