--[[
  Recovers jobs whose lease ran out (the worker died, hung, or overran the
  attempt deadline). Each goes back to the ready set of its type with a
  LEASE_EXPIRED event (status pending); after its last attempt it fails with
  LEASE_EXPIRED (status failed, error "lease expired"); with a cancel
  requested it ends CANCELLED. Every event carries the expired lease's token
  and a reason:
    cancel_requested       CANCELLED;
    attempts_exhausted     LEASE_EXPIRED, failed (that was the last attempt);
    attempt_timed_out      LEASE_EXPIRED, pending, when the lease reached past the
                           attempt deadline (start + timeout): the worker kept it
                           alive but did not report in time;
    lease_deadline_passed  LEASE_EXPIRED, pending, when the lease ran out before
                           the attempt deadline: the worker stopped heartbeating.
  A requeued job remembers the expired token (`expired_token`), so that a
  completion its worker reports late, before another attempt starts, still
  counts (see report-jobs.lua).

  The candidates are ids the caller read (find-due.lua); each is checked
  again here, and one no longer in the leased set, or whose lease no longer
  ran out (it was reported, released or extended since), is passed over.

  KEYS[1] leased zset
  KEYS[2] set of types with ready jobs
  KEYS[3] outbox stream
  KEYS[4] running hash: leased jobs per type
  KEYS[5..4+n] the ready sets of the n job types declared in ARGV
  KEYS[5+n..] the candidates' hashes, one per id in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  ARGV[n+2..] the candidate ids

  Returns { requeued, ended, { type1, n1, ... } }: jobs put back in a ready
  set, jobs finished, and the requeued jobs per type; or the error
  TF_UNDECLARED_TYPES (see include/common.lua) when a job's type has no
  declared ready set.
]]

local leased, types, outbox, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local first, job_at = declare_ready(5)
local actor = 'scheduler:expire-leases'
local now = now_ms()
local requeued, ended = 0, 0
local counts = {}

local expired, needed = {}, {}
for i = first, #ARGV do
  local id = ARGV[i]
  local score = tonumber(redis.call('ZSCORE', leased, id))
  if score and score <= now then
    local key = KEYS[job_at + i - first]
    expired[#expired + 1] = { id = id, key = key }
    local f = redis.call('HMGET', key, 'state', 'type')
    if f[1] == 'leased' then
      needed[#needed + 1] = f[2] or ''
    end
  end
end
local refused = check_types(needed)
if refused then
  return refused
end

for _, c in ipairs(expired) do
  local id, key = c.id, c.key
  local f = redis.call('HMGET', key, 'state', 'attempts', 'max_attempts', 'cancel', 'worker',
    'token', 'lease_until', 'deadline', 'type')
  unlease(leased, running, id, f[9])
  if f[1] == 'leased' then
    local attempts = tonumber(f[2])
    local ev = { attempt = attempts, at = now, actor = actor, worker = f[5], lease = f[6] }
    if f[4] == '1' then
      ev.type, ev.status, ev.reason = 'CANCELLED', 'cancelled', 'cancel_requested'
      ev.details = cancel_details(key)
    elseif attempts >= tonumber(f[3]) then
      ev.type, ev.status, ev.error = 'LEASE_EXPIRED', 'failed', 'lease expired'
      ev.reason = 'attempts_exhausted'
    else
      ev.type, ev.status, ev.error = 'LEASE_EXPIRED', 'pending', 'lease expired'
      ev.reason = 'lease_deadline_passed'
      if (tonumber(f[7]) or 0) >= (tonumber(f[8]) or math.huge) then
        ev.reason = 'attempt_timed_out'
      end
    end
    emit(outbox, key, id, ev)
    if ev.status == 'pending' then
      count_type(counts, make_ready(types, key, id, now))
      redis.call('HSET', key, 'expired_token', f[6])
      requeued = requeued + 1
    else
      finish(key)
      ended = ended + 1
    end
  end
end

return { requeued, ended, flat_counts(counts) }
