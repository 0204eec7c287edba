--[[
  Helpers shared by every script. scripts.ts prepends this file to each script,
  so each script stays one self-contained, atomic Lua call.

  Times come from Redis TIME only: every replica of the scheduler then agrees
  on one clock per queue (on Redis Cluster, the clock of the master serving
  the queue's slot).
]]

local EPOCH_2024_MS = 1704067200000
-- 2^42 ms (about 139 years) of ready times per priority step; the largest score,
-- 1001 * 2^42, stays below 2^53 so doubles keep it exact.
local PRIORITY_STEP = 4398046511104

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Higher priority first, then whichever became ready first.
local function ready_score(priority, ready_at_ms)
  return (1000 - priority) * PRIORITY_STEP + (ready_at_ms - EPOCH_2024_MS)
end

-- Integral number as text, never in exponent form.
local function int(n)
  return string.format('%d', n)
end

-- Appends one transition of a job to the outbox stream and numbers it with
-- the job's next seq, so history sees every job's events 1, 2, 3, ... without gaps.
-- A job submitted under a trace carries its 'traceparent' into each entry, so
-- the forwarder's call to history joins that trace; untraced jobs add nothing.
-- ev: type, status, attempt, at, actor, reason (a snake_case code, see
-- JobEvent.reason in job.proto) and optionally worker, error, result, details
-- and lease (the token of the lease the transition belongs to).
local function emit(outbox, job_key, id, ev)
  local seq = redis.call('HINCRBY', job_key, 'seq', 1)
  redis.call('HSET', job_key, 'status', ev.status)
  local f = {
    'job', id, 'seq', seq, 'type', ev.type, 'status', ev.status,
    'attempt', int(ev.attempt), 'actor', ev.actor, 'reason', ev.reason, 'at', int(ev.at),
  }
  for _, name in ipairs({ 'worker', 'lease', 'error', 'result', 'details' }) do
    if ev[name] ~= nil and ev[name] ~= '' then
      f[#f + 1] = name
      f[#f + 1] = ev[name]
    end
  end
  local trace_parent = redis.call('HGET', job_key, 'traceparent')
  if trace_parent then
    f[#f + 1] = 'traceparent'
    f[#f + 1] = trace_parent
  end
  redis.call('XADD', outbox, '*', unpack(f))
end

-- Ends a job: the hash stays as a tombstone (so a retried report is answered
-- DUPLICATE, a cancel answers "finished", and the reconciler never takes the
-- job for one Redis lost) without its payload. It does not expire yet: the
-- outbox forwarder sets its expiry once history has recorded the terminal
-- event, so the job cannot be restored and run again while history still
-- holds it as unfinished.
local function finish(job_key)
  redis.call('HSET', job_key, 'state', 'done', 'lease_until', '')
  redis.call('HDEL', job_key, 'payload')
end

-- Details of the CANCELLED event that ends a running job whose cancel was
-- requested: what CancelJob recorded with the request (cancel-job.lua), i.e.
-- the caller's reason and who asked (`requested_by`), since the event itself
-- is caused by the worker or the sweeper. nil when nothing was recorded.
local function cancel_details(job_key)
  local f = redis.call('HMGET', job_key, 'cancel_details', 'cancel_by')
  local d = {}
  if f[1] and f[1] ~= '' then
    d = cjson.decode(f[1])
  end
  if f[2] and f[2] ~= '' then
    d.requested_by = f[2]
  end
  if next(d) == nil then
    return nil
  end
  return cjson.encode(d)
end

-- Declared keys. Every key a script touches comes in through KEYS, so that it
-- runs on Redis Cluster: the script's own keys first, then the ready sets the
-- call declares (their job types in ARGV), then one job hash per job named in
-- ARGV, in order. Scripts that take job types from job hashes check, before
-- any write, that each one's ready set was declared (check_types), and refuse
-- the call otherwise, naming the types, so the caller calls again with them.

-- Takes a job off the leased zset and, when it was there, off the count of its
-- type's leased jobs in the queue's running hash (what per-type limits read).
-- Returns 1 when it was leased.
local function unlease(leased, running, id, job_type)
  local n = redis.call('ZREM', leased, id)
  if n == 1 and job_type and job_type ~= '' and redis.call('HINCRBY', running, job_type, -1) <= 0 then
    redis.call('HDEL', running, job_type)
  end
  return n
end

-- The ready sets this call declared, by job type.
local READY = {}

-- Reads the declared ready sets: ARGV[1] = n, ARGV[2..n+1] their job types,
-- KEYS[first..first+n-1] their keys. Returns where the script's own arguments
-- start in ARGV, and where the job hashes start in KEYS.
local function declare_ready(first)
  local n = tonumber(ARGV[1])
  for i = 1, n do
    READY[ARGV[1 + i]] = KEYS[first + i - 1]
  end
  return n + 2, first + n
end

-- The declared ready set of a job type. check_types ran before any write, so
-- an undeclared one here is a bug, and the error says so.
local function ready_key(job_type)
  local key = READY[job_type]
  if key == nil then
    error('ready set of job type "' .. job_type .. '" not declared')
  end
  return key
end

-- nil when every type in the list has a declared ready set; else the error
-- reply to return at once (nothing written yet): TF_UNDECLARED_TYPES and the
-- missing types as a JSON array.
local function check_types(job_types)
  local missing, seen = {}, {}
  for _, t in ipairs(job_types) do
    if READY[t] == nil and not seen[t] then
      seen[t] = true
      missing[#missing + 1] = t
    end
  end
  if #missing == 0 then
    return nil
  end
  return redis.error_reply('TF_UNDECLARED_TYPES ' .. cjson.encode(missing))
end

-- The job types of a batch of jobs in ARGV: records of `stride` arguments from
-- `first`, each with the job's type second.
local function batch_types(first, stride)
  local out = {}
  for i = first, #ARGV, stride do
    out[#out + 1] = ARGV[i + 1]
  end
  return out
end

-- The job types of the job hashes in `keys` that exist.
local function types_of(keys)
  local out = {}
  for _, key in ipairs(keys) do
    local t = redis.call('HGET', key, 'type')
    if t then
      out[#out + 1] = t
    end
  end
  return out
end

-- Adds a job to the ready set of its type and notes the type as having ready jobs.
local function add_ready(types, job_type, priority, at_ms, id)
  redis.call('ZADD', ready_key(job_type), ready_score(priority, at_ms), id)
  redis.call('SADD', types, job_type)
end

-- Removes a job from the ready set of its type; the type leaves the set of
-- types with ready jobs when that was its last one. Returns 1 when it was ready.
local function remove_ready(types, job_type, id)
  local key = ready_key(job_type)
  local removed = redis.call('ZREM', key, id)
  if removed == 1 and redis.call('EXISTS', key) == 0 then
    redis.call('SREM', types, job_type)
  end
  return removed
end

-- Puts a job back at the end of its priority band in the ready set of its type.
-- Returns the job's type.
local function make_ready(types, job_key, id, at_ms)
  local f = redis.call('HMGET', job_key, 'priority', 'type')
  local job_type = f[2] or ''
  redis.call('HSET', job_key, 'state', 'ready', 'token', '', 'lease_until', '')
  add_ready(types, job_type, tonumber(f[1]) or 0, at_ms, id)
  return job_type
end

-- Counts one job of `job_type` in `counts`, a { type = n } table.
local function count_type(counts, job_type)
  counts[job_type] = (counts[job_type] or 0) + 1
end

-- A { type = n } table as the flat array { type1, n1, type2, n2, ... } a reply can carry.
local function flat_counts(counts)
  local out = {}
  for job_type, n in pairs(counts) do
    out[#out + 1] = job_type
    out[#out + 1] = n
  end
  return out
end
