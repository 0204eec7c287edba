--[[
  Records the outcomes workers report for jobs of one queue. A report counts
  only under the lease it names (fencing token): a stale report never
  overwrites the outcome of a newer attempt. Accepted outcomes (each event
  carries the lease token; its reason code in brackets):
    completed -> done, COMPLETED event with the result [handler_succeeded];
    failed    -> CANCELLED if a cancel was requested [cancel_requested], else
                 FAILED if the failure is permanent [handler_failed_permanently]
                 or the attempts are used up [attempts_exhausted], else
                 RETRY_SCHEDULED [handler_failed]: delayed with exponential
                 backoff and jitter,
                 due = now + min(max, base * 2^(attempts-1)) * (0.5 + 0.5 * r).
  A report repeating the last accepted one (same token) is a DUPLICATE and
  changes nothing, so a worker may retry a report whose answer it lost.

  A completion reported late, under a lease that expired while the job waits
  to run again (ready or delayed, no newer attempt started), is accepted as
  well: the work is done, and a transport failure must not make it run again
  or fail it. The event then says so in its details (`late_report`).

  KEYS[1] leased zset
  KEYS[2] delayed zset
  KEYS[3] outbox stream
  KEYS[4] set of types with ready jobs
  KEYS[5] the queue's count of jobs completed this minute (the caller's
          clock): incremented by the completions accepted, kept 3 minutes
  KEYS[6] running hash: leased jobs per type
  KEYS[7..6+n] the ready sets of the n job types declared in ARGV (those of
               the jobs named: a late completion takes its job out of one)
  KEYS[7+n..] the jobs' hashes, one per report in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  then, from a = n + 2:
  ARGV[a] worker id
  ARGV[a+1] actor of the events: 'worker:' and the verified name of the caller
  ARGV[a+2] retry base delay, ms
  ARGV[a+3] retry delay cap, ms
  ARGV[a+4..] 6 fields per report: job id, lease token, outcome ('completed'
            or 'failed'), result JSON or error text, permanent ('1' or '0'),
            jitter r in [0, 1)

  Returns one { code, status } per report, in order. code: 1 ACCEPTED,
  2 DUPLICATE, 3 LEASE_LOST; status: the job's status afterwards
  ('pending', 'processing', 'completed', 'failed', 'cancelled', or '' when
  the job is unknown); or the error TF_UNDECLARED_TYPES (see
  include/common.lua) when a job's type has no declared ready set.
]]

local leased, delayed, outbox, types, done, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local at, job_at = declare_ready(7)
local worker, actor = ARGV[at], ARGV[at + 1]
local base_ms, max_ms = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
local first = at + 4
local now = now_ms()
local out = {}
local completed = 0

local function fail(key, id, token, attempts, max_attempts, cancel, err, permanent, jitter)
  local ev = { attempt = attempts, at = now, actor = actor, worker = worker, error = err, lease = token }
  if cancel == '1' then
    ev.type, ev.status, ev.reason = 'CANCELLED', 'cancelled', 'cancel_requested'
    ev.details = cancel_details(key)
  elseif permanent == '1' then
    -- The handler said retrying cannot help; that is why, even on the last attempt.
    ev.type, ev.status, ev.reason = 'FAILED', 'failed', 'handler_failed_permanently'
  elseif attempts >= max_attempts then
    ev.type, ev.status, ev.reason = 'FAILED', 'failed', 'attempts_exhausted'
  else
    local backoff = math.min(max_ms, base_ms * 2 ^ (attempts - 1)) * (0.5 + 0.5 * jitter)
    local due = now + math.floor(backoff)
    redis.call('HSET', key, 'state', 'delayed', 'token', '', 'lease_until', '',
      'scheduled_ms', int(due))
    redis.call('ZADD', delayed, due, id)
    ev.type, ev.status, ev.reason = 'RETRY_SCHEDULED', 'pending', 'handler_failed'
    ev.details = cjson.encode({ retry_at_ms = due, backoff_ms = math.floor(backoff) })
    emit(outbox, key, id, ev)
    return
  end
  emit(outbox, key, id, ev)
  finish(key)
end

local function complete(key, id, token, attempts, body, details)
  emit(outbox, key, id, { type = 'COMPLETED', status = 'completed', attempt = attempts,
    at = now, actor = actor, worker = worker, result = body, lease = token,
    reason = 'handler_succeeded', details = details })
  finish(key)
  completed = completed + 1
end

local function job_key(i)
  return KEYS[job_at + (i - first) / 6]
end

local job_keys = {}
for i = first, #ARGV, 6 do
  job_keys[#job_keys + 1] = job_key(i)
end
local refused = check_types(types_of(job_keys))
if refused then
  return refused
end

for i = first, #ARGV, 6 do
  local id, token, outcome, body = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = job_key(i)
  local f = redis.call('HMGET', key, 'state', 'token', 'reported_token', 'attempts',
    'max_attempts', 'cancel', 'status', 'expired_token', 'type')
  if f[1] == 'leased' and f[2] == token then
    local attempts = tonumber(f[4])
    unlease(leased, running, id, f[9])
    redis.call('HSET', key, 'reported_token', token)
    if outcome == 'completed' then
      complete(key, id, token, attempts, body, nil)
    else
      fail(key, id, token, attempts, tonumber(f[5]), f[6], body, ARGV[i + 4], tonumber(ARGV[i + 5]))
    end
    out[#out + 1] = { 1, redis.call('HGET', key, 'status') }
  elseif f[3] == token and token ~= '' then
    out[#out + 1] = { 2, f[7] or '' }
  elseif outcome == 'completed' and token ~= '' and f[8] == token and (f[1] == 'ready' or f[1] == 'delayed') then
    remove_ready(types, f[9] or '', id)
    redis.call('ZREM', delayed, id)
    redis.call('HSET', key, 'reported_token', token, 'expired_token', '')
    complete(key, id, token, tonumber(f[4]), body, cjson.encode({ late_report = true }))
    out[#out + 1] = { 1, 'completed' }
  else
    out[#out + 1] = { 3, f[7] or '' }
  end
end

if completed > 0 then
  redis.call('INCRBY', done, completed)
  redis.call('PEXPIRE', done, 180000)
end
return out
