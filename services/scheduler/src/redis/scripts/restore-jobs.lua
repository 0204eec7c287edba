--[[
  Reconciliation: puts back jobs that history holds as unfinished but Redis
  lost (a flush, a restart without persistence, a submit that crashed between
  history's commit and the enqueue), and jobs an operator retried (RetryJob:
  history reopened them, then the scheduler puts them back here). A job whose
  hash exists is left as it is, so a restore racing a submit, or another
  replica's restore, changes nothing; except a stale tombstone: a finished
  job's hash whose seq is below history's newest event, which only a RETRIED
  event past the end can make, is replaced whole (fields, expiry and all), so
  neither the retry's enqueue nor the reconciler finds the old end in the way.

  A restored job continues its trail from history's newest event (`seq`) and
  keeps its attempts. A pending job becomes ready, or delayed while its run
  time is ahead, and nothing is recorded: no transition happened. The same
  script releases a flow's child whose parents settled (it waited in history
  alone). A
  processing job lost its lease with Redis, so it is recovered as an expired
  lease is: LEASE_EXPIRED back to ready, or LEASE_EXPIRED failed after its
  last attempt, both with reason "restored_after_redis_loss" and no lease
  token (the token was lost with Redis; history's STARTED event of the
  attempt holds it).

  KEYS[1] set of types with ready jobs
  KEYS[2] delayed zset
  KEYS[3] leased zset
  KEYS[4] outbox stream
  KEYS[5] running hash: leased jobs per type
  KEYS[6..5+n] the ready sets of the n job types declared in ARGV (every
               type of the batch)
  KEYS[6+n..] the jobs' hashes, one per job in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  ARGV[n+2] queue name
  ARGV[n+3..] 13 fields per job: id, type, payload (JSON text), priority,
            max_attempts, attempts, timeout_ms, seq (history's newest event),
            scheduled_ms, created_ms, processing ('1' or '0'), worker id,
            parents (a released flow child's parents with their results, JSON
            text kept as 'parents' for its leases; '' for none)

  Returns one code per job, in order: 0 present (nothing changed), 1 ready,
  2 delayed, 3 lease expired and ready again, 4 lease expired and failed; or
  the error TF_UNDECLARED_TYPES (see include/common.lua) when a job's type
  has no declared ready set.
]]

local types, delayed, leased, outbox, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local at, job_at = declare_ready(6)
local queue = ARGV[at]
local first = at + 1
local actor = 'scheduler:reconcile'
local now = now_ms()
local out = {}

local function recover_lease(key, id, attempts, max_attempts, worker)
  local ev = { type = 'LEASE_EXPIRED', attempt = attempts, at = now, actor = actor,
    worker = worker, error = 'lease lost with Redis data', reason = 'restored_after_redis_loss' }
  if attempts >= max_attempts then
    ev.status = 'failed'
    emit(outbox, key, id, ev)
    finish(key)
    return 4
  end
  ev.status = 'pending'
  emit(outbox, key, id, ev)
  make_ready(types, key, id, now)
  return 3
end

-- Whether Redis holds the job: a hash that is not a stale tombstone (see above).
local function held(key, seq)
  local f = redis.call('HMGET', key, 'state', 'seq')
  if f[1] == 'done' and tonumber(f[2]) < seq then
    return false
  end
  return redis.call('EXISTS', key) == 1
end

local refused = check_types(batch_types(first, 13))
if refused then
  return refused
end

for i = first, #ARGV, 13 do
  local id = ARGV[i]
  local key = KEYS[job_at + (i - first) / 13]
  if held(key, tonumber(ARGV[i + 7])) then
    out[#out + 1] = 0
  else
    local priority, max_attempts, attempts = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
    local due = tonumber(ARGV[i + 8])
    -- Entries a partial loss may have left behind would otherwise point at the new hash.
    remove_ready(types, ARGV[i + 1], id)
    redis.call('ZREM', delayed, id)
    unlease(leased, running, id, ARGV[i + 1])
    redis.call('DEL', key)
    redis.call('HSET', key,
      'id', id, 'type', ARGV[i + 1], 'queue', queue, 'payload', ARGV[i + 2],
      'priority', priority, 'max_attempts', max_attempts, 'attempts', attempts,
      'timeout_ms', ARGV[i + 6], 'seq', ARGV[i + 7], 'state', 'ready', 'status', 'pending',
      'token', '', 'worker', '', 'lease_until', '', 'deadline', '', 'cancel', 0,
      'reported_token', '', 'scheduled_ms', int(due), 'created_ms', ARGV[i + 9])
    if ARGV[i + 12] ~= '' then
      redis.call('HSET', key, 'parents', ARGV[i + 12])
    end
    if ARGV[i + 10] == '1' then
      out[#out + 1] = recover_lease(key, id, attempts, max_attempts, ARGV[i + 11])
    elseif due > now then
      redis.call('HSET', key, 'state', 'delayed')
      redis.call('ZADD', delayed, due, id)
      out[#out + 1] = 2
    else
      add_ready(types, ARGV[i + 1], priority, now, id)
      out[#out + 1] = 1
    end
  end
end

return out
