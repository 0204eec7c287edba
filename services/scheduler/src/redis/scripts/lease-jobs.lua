--[[
  Leases up to N ready jobs of one queue to a worker, from candidates the
  caller read from the ready sets of the worker's job types (their heads,
  merged best first: highest priority, then oldest, then id), within a byte
  budget. Each candidate still in its ready set gets a new lease token, its
  attempt counted now (so a job that kills its worker still runs out of
  attempts), a lease deadline and an attempt deadline, and a STARTED event in
  the outbox (reason "leased", carrying the new token). A candidate that left
  its ready set since it was read (another call leased it) is passed over
  and counted, so the caller can read again when it got nothing.

  Retry-safe: the leased ids and tokens are kept under the request's key for
  as long as a lease lasts. A call with a request key that holds live leases
  (the same request sent again after its answer was lost, or re-run by the
  Redis client after a reconnect) answers those leases again, unchanged, and
  leases nothing new; so an unanswered lease never spends an attempt on
  nobody. The caller reads the request key with the candidates and declares
  the hashes of the ids it holds; should it hold others by now, the call is
  refused (TF_STALE_READ) before any write, and the caller reads again.

  KEYS[1] set of types with ready jobs
  KEYS[2] leased zset
  KEYS[3] outbox stream
  KEYS[4] this request's key (list of id, token)
  KEYS[5] queue meta hash: `paused` while the queue is paused; its limits
          `max_running`, `max_starts` per `per_ms`, and `tat`, the start-rate
          limiter's theoretical arrival time (GCRA), ms; and the same four
          for one job type as `type:<type>:max_running` and so on
  KEYS[6] running hash: leased jobs per type
  KEYS[7..6+n] the ready sets of the n job types declared in ARGV (every
               candidate's type)
  KEYS[7+n..] the hashes of the c candidates, then of the p ids the request
              key held when read, in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  then, from a = n + 2:
  ARGV[a] most jobs to lease
  ARGV[a+1] worker id
  ARGV[a+2] lease duration, ms
  ARGV[a+3] grace after the attempt deadline, ms
  ARGV[a+4] random nonce of this call; token = nonce .. ':' .. n
  ARGV[a+5] byte budget: the payloads and parents' results (the 'parents'
            field of a flow's child) of the jobs leased add up to at most
            this, except that the first job is always leased
  ARGV[a+6] c, the number of candidates
  ARGV[a+7] p, the number of ids the request key held
  ARGV[a+8] actor of the events: 'worker:' and the verified name of the caller
  ARGV[a+9..] c pairs: candidate id, its job type (best first); then p ids

  A paused queue leases nothing new (a retried request still answers what it
  leased before the pause). A queue with limits leases no more than leaves
  its leased jobs at most max_running, and its starts at most max_starts in
  any window of per_ms; a job type with limits, likewise for the queue's jobs
  of that type (a candidate whose type is at its limit is passed over for
  the next ones).

  Returns { jobs, passed, held_ms }: one array per leased job,
    { id, type, payload, priority, max_attempts, attempts, timeout_ms,
      scheduled_ms, created_ms, token, lease_until_ms, deadline_ms, started_ms,
      traceparent ('' when the job's submit was not traced), parents (JSON
      array of the parents with their results, '' for a job without) },
  the number of candidates that were no longer ready, and, when the limits
  held jobs back, when to try again: the ms until the start rate allows one
  more, or -1 while max_running is reached (0 when nothing was held back;
  of several types held back, the soonest).
]]

local types, leased, outbox, request, meta, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local at, job_at = declare_ready(7)
local limit = tonumber(ARGV[at])
local worker, lease_ms, grace_ms, nonce = ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), ARGV[at + 4]
local max_bytes = tonumber(ARGV[at + 5])
local n_candidates, n_prior = tonumber(ARGV[at + 6]), tonumber(ARGV[at + 7])
local actor = ARGV[at + 8]
local candidates_at = at + 9
local prior_at = candidates_at + 2 * n_candidates
local now = now_ms()
local out = {}

-- The declared job hashes, by id.
local jobs = {}
for i = 1, n_candidates do
  jobs[ARGV[candidates_at + 2 * (i - 1)]] = KEYS[job_at + i - 1]
end
for i = 1, n_prior do
  jobs[ARGV[prior_at + i - 1]] = KEYS[job_at + n_candidates + i - 1]
end

local function record(id, f, token, lease_until, deadline, started)
  return { id, f[2], f[3], tonumber(f[4]), tonumber(f[5]), tonumber(f[6]), tonumber(f[7]),
    tonumber(f[8]), tonumber(f[9]) or 0, token, lease_until, deadline, started, f[14] or '', f[15] or '' }
end

local FIELDS = { 'state', 'type', 'payload', 'priority', 'max_attempts', 'attempts', 'timeout_ms',
  'scheduled_ms', 'created_ms', 'token', 'lease_until', 'deadline', 'started_ms', 'traceparent',
  'parents' }

-- The same request again: answer what it leased, as long as those leases hold.
local before = redis.call('LRANGE', request, 0, -1)
for i = 1, #before, 2 do
  if jobs[before[i]] == nil then
    return redis.error_reply('TF_STALE_READ the request key changed since it was read')
  end
end
for i = 1, #before, 2 do
  local id, token = before[i], before[i + 1]
  local f = redis.call('HMGET', jobs[id], unpack(FIELDS))
  if f[1] == 'leased' and f[10] == token then
    out[#out + 1] = record(id, f, token, tonumber(f[11]), tonumber(f[12]), tonumber(f[13]))
  end
end
if #out > 0 then
  return { out, 0, 0 }
end
redis.call('DEL', request)
if redis.call('HEXISTS', meta, 'paused') == 1 then
  return { out, 0, 0 }
end

-- The limits leave room for this many jobs now.
local room, held_ms = limit, 0
local lim = redis.call('HMGET', meta, 'max_running', 'max_starts', 'per_ms', 'tat')
local max_running, max_starts, per_ms = tonumber(lim[1]), tonumber(lim[2]), tonumber(lim[3])
local interval, tat
if max_running then
  local free = max_running - redis.call('ZCARD', leased)
  if free < room then
    room, held_ms = free, -1
  end
end
if max_starts then
  -- GCRA: a start every `interval` ms on average, a burst of max_starts at most.
  interval = per_ms / max_starts
  tat = math.max(tonumber(lim[4]) or now, now)
  local allowed = math.floor((now + per_ms - tat) / interval)
  if allowed < room then
    room = allowed
    if held_ms == 0 then
      held_ms = math.max(1, math.ceil(tat + interval - per_ms - now))
    end
  end
end
if room <= 0 then
  return { out, 0, held_ms }
end

-- The limits of one job type, read once per call: how many more of its jobs
-- may be leased now (`room`, nil without limits), and its GCRA state.
local by_type = {}
local function type_limits(job_type)
  local l = by_type[job_type]
  if l then
    return l
  end
  local p = 'type:' .. job_type .. ':'
  local v = redis.call('HMGET', meta, p .. 'max_running', p .. 'max_starts', p .. 'per_ms', p .. 'tat')
  l = { taken = 0, tat_field = p .. 'tat' }
  if v[1] then
    l.room = tonumber(v[1]) - (tonumber(redis.call('HGET', running, job_type)) or 0)
  end
  if v[2] then
    l.per_ms = tonumber(v[3])
    l.interval = l.per_ms / tonumber(v[2])
    l.tat = math.max(tonumber(v[4]) or now, now)
    local allowed = math.floor((now + l.per_ms - l.tat) / l.interval)
    if l.room == nil or allowed < l.room then
      l.room, l.by_rate = allowed, true
    end
  end
  by_type[job_type] = l
  return l
end

-- Of the types held back by their limits, the soonest time to try again (see Returns).
local type_held = 0
local function hold_type(l)
  local held = -1
  if l.by_rate then
    -- When the start rate allows one more after those taken in this call.
    held = math.max(1, math.ceil(l.tat + (l.taken + 1) * l.interval - l.per_ms - now))
  end
  if type_held == 0 or (held > 0 and (type_held < 0 or held < type_held)) then
    type_held = held
  end
end

local bytes, passed = 0, 0
for i = 1, n_candidates do
  if #out >= room then
    break
  end
  local id, job_type = ARGV[candidates_at + 2 * (i - 1)], ARGV[candidates_at + 2 * i - 1]
  local key = KEYS[job_at + i - 1]
  local tl = type_limits(job_type)
  if tl.room and tl.taken >= tl.room then
    hold_type(tl)
  elseif not redis.call('ZSCORE', ready_key(job_type), id) then
    passed = passed + 1
  else
    local f = redis.call('HMGET', key, unpack(FIELDS))
    if f[1] ~= 'ready' then
      -- A ready entry without a ready hash is debris of a lost write; dropping it is all we can do.
      remove_ready(types, job_type, id)
      passed = passed + 1
    else
      local size = #(f[3] or '') + #(f[15] or '')
      if #out > 0 and bytes + size > max_bytes then
        break
      end
      bytes = bytes + size
      remove_ready(types, job_type, id)
      local attempts = tonumber(f[6]) + 1
      local deadline = now + tonumber(f[7])
      local lease_until = math.min(now + lease_ms, deadline + grace_ms)
      local token = nonce .. ':' .. (#out + 1)
      redis.call('HSET', key, 'state', 'leased', 'token', token, 'worker', worker,
        'attempts', attempts, 'lease_until', int(lease_until), 'deadline', int(deadline),
        'started_ms', int(now), 'expired_token', '')
      redis.call('ZADD', leased, lease_until, id)
      redis.call('HINCRBY', running, job_type, 1)
      tl.taken = tl.taken + 1
      emit(outbox, key, id, {
        type = 'STARTED', status = 'processing', attempt = attempts, at = now,
        actor = actor, worker = worker, lease = token, reason = 'leased',
      })
      f[6] = attempts
      out[#out + 1] = record(id, f, token, lease_until, deadline, now)
      redis.call('RPUSH', request, id, token)
    end
  end
end

if #out > 0 then
  redis.call('PEXPIRE', request, lease_ms)
  if max_starts then
    redis.call('HSET', meta, 'tat', tostring(tat + #out * interval))
  end
  for _, l in pairs(by_type) do
    if l.interval and l.taken > 0 then
      redis.call('HSET', meta, l.tat_field, tostring(l.tat + l.taken * l.interval))
    end
  end
end
if #out < room then
  held_ms = type_held
end
return { out, passed, held_ms }
