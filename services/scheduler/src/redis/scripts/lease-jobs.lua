--[[
  Leases up to N ready jobs of one queue to a worker, of the types it has
  handlers for, highest priority first, then oldest first, within a byte
  budget. Each job gets a new lease token, its attempt counted now (so a job
  that kills its worker still runs out of attempts), a lease deadline and an
  attempt deadline, and a STARTED event in the outbox (reason "leased",
  carrying the new token).

  Retry-safe: the leased ids and tokens are kept under the request's key for
  as long as a lease lasts. A call with a request key that holds live leases
  (the same request sent again after its answer was lost, or re-run by the
  Redis client after a reconnect) answers those leases again, unchanged, and
  leases nothing new; so an unanswered lease never spends an attempt on
  nobody.

  KEYS[1] ready set prefix (one zset per type)
  KEYS[2] set of types with ready jobs
  KEYS[3] leased zset
  KEYS[4] outbox stream
  KEYS[5] job hash prefix
  KEYS[6] this request's key (list of id, token)

  ARGV[1] most jobs to lease
  ARGV[2] worker id
  ARGV[3] lease duration, ms
  ARGV[4] grace after the attempt deadline, ms
  ARGV[5] random nonce of this call; token = nonce .. ':' .. n
  ARGV[6] byte budget: the payloads of the jobs leased add up to at most
          this, except that the first job is always leased
  ARGV[7..] job types to lease; none: every type

  Returns one array per leased job:
    { id, type, payload, priority, max_attempts, attempts, timeout_ms,
      scheduled_ms, created_ms, token, lease_until_ms, deadline_ms, started_ms }
]]

local ready_prefix, types, leased, outbox, job_prefix, request = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local limit = tonumber(ARGV[1])
local worker, lease_ms, grace_ms, nonce = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local max_bytes = tonumber(ARGV[6])
local now = now_ms()
local out = {}

local function record(id, f, token, lease_until, deadline, started)
  return { id, f[2], f[3], tonumber(f[4]), tonumber(f[5]), tonumber(f[6]), tonumber(f[7]),
    tonumber(f[8]), tonumber(f[9]) or 0, token, lease_until, deadline, started }
end

local FIELDS = { 'state', 'type', 'payload', 'priority', 'max_attempts', 'attempts', 'timeout_ms',
  'scheduled_ms', 'created_ms', 'token', 'lease_until', 'deadline', 'started_ms' }

-- The same request again: answer what it leased, as long as those leases hold.
local before = redis.call('LRANGE', request, 0, -1)
for i = 1, #before, 2 do
  local id, token = before[i], before[i + 1]
  local f = redis.call('HMGET', job_prefix .. id, unpack(FIELDS))
  if f[1] == 'leased' and f[10] == token then
    out[#out + 1] = record(id, f, token, tonumber(f[11]), tonumber(f[12]), tonumber(f[13]))
  end
end
if #out > 0 then
  return out
end
redis.call('DEL', request)

-- The best `limit` candidates of each type, merged by score (then id) across types.
local wanted = {}
for i = 7, #ARGV do
  wanted[#wanted + 1] = ARGV[i]
end
if #wanted == 0 then
  wanted = redis.call('SMEMBERS', types)
end
local heads = {}
for _, job_type in ipairs(wanted) do
  local top = redis.call('ZRANGE', ready_prefix .. job_type, 0, limit - 1, 'WITHSCORES')
  if #top > 0 then
    heads[#heads + 1] = { job_type = job_type, top = top, at = 1 }
  end
end

local function next_candidate()
  local best
  for _, h in ipairs(heads) do
    if h.at < #h.top then
      local id, score = h.top[h.at], tonumber(h.top[h.at + 1])
      if best == nil or score < best.score or (score == best.score and id < best.id) then
        best = { head = h, id = id, score = score }
      end
    end
  end
  if best then
    best.head.at = best.head.at + 2
  end
  return best
end

local bytes = 0
while #out < limit do
  local c = next_candidate()
  if c == nil then
    break
  end
  local key = job_prefix .. c.id
  local f = redis.call('HMGET', key, unpack(FIELDS))
  if f[1] ~= 'ready' then
    -- A ready entry without a ready hash is debris of a lost write; dropping it is all we can do.
    remove_ready(ready_prefix, types, c.head.job_type, c.id)
  else
    local size = #(f[3] or '')
    if #out > 0 and bytes + size > max_bytes then
      break
    end
    bytes = bytes + size
    remove_ready(ready_prefix, types, c.head.job_type, c.id)
    local attempts = tonumber(f[6]) + 1
    local deadline = now + tonumber(f[7])
    local lease_until = math.min(now + lease_ms, deadline + grace_ms)
    local token = nonce .. ':' .. (#out + 1)
    redis.call('HSET', key, 'state', 'leased', 'token', token, 'worker', worker,
      'attempts', attempts, 'lease_until', int(lease_until), 'deadline', int(deadline),
      'started_ms', int(now), 'expired_token', '')
    redis.call('ZADD', leased, lease_until, c.id)
    emit(outbox, key, c.id, {
      type = 'STARTED', status = 'processing', attempt = attempts, at = now,
      actor = 'worker:' .. worker, worker = worker, lease = token, reason = 'leased',
    })
    f[6] = attempts
    out[#out + 1] = record(c.id, f, token, lease_until, deadline, now)
    redis.call('RPUSH', request, c.id, token)
  end
end

if #out > 0 then
  redis.call('PEXPIRE', request, lease_ms)
end
return out
