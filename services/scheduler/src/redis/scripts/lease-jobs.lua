--[[
  Leases up to N ready jobs of one queue to a worker, highest priority first,
  then oldest first. Each job gets a new lease token, its attempt counted now
  (so a job that kills its worker still runs out of attempts), a lease
  deadline and an attempt deadline, and a STARTED event in the outbox
  (reason "leased", carrying the new token).

  KEYS[1] ready zset
  KEYS[2] leased zset
  KEYS[3] outbox stream
  KEYS[4] job hash prefix

  ARGV[1] most jobs to lease
  ARGV[2] worker id
  ARGV[3] lease duration, ms
  ARGV[4] grace after the attempt deadline, ms
  ARGV[5] random nonce of this call; token = nonce .. ':' .. n

  Returns one array per leased job:
    { id, type, payload, priority, max_attempts, attempts, timeout_ms,
      scheduled_ms, created_ms, token, lease_until_ms, deadline_ms, started_ms }
]]

local ready, leased, outbox, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local limit = tonumber(ARGV[1])
local worker, lease_ms, grace_ms, nonce = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local now = now_ms()
local out = {}

local popped = redis.call('ZPOPMIN', ready, limit)
for i = 1, #popped, 2 do
  local id = popped[i]
  local key = job_prefix .. id
  local f = redis.call('HMGET', key, 'state', 'type', 'payload', 'priority', 'max_attempts',
    'attempts', 'timeout_ms', 'scheduled_ms', 'created_ms')
  -- A ready entry without a ready hash is debris of a lost write; dropping it is all we can do.
  if f[1] == 'ready' then
    local attempts = tonumber(f[6]) + 1
    local deadline = now + tonumber(f[7])
    local lease_until = math.min(now + lease_ms, deadline + grace_ms)
    local token = nonce .. ':' .. (#out + 1)
    redis.call('HSET', key, 'state', 'leased', 'token', token, 'worker', worker,
      'attempts', attempts, 'lease_until', int(lease_until), 'deadline', int(deadline),
      'started_ms', int(now))
    redis.call('ZADD', leased, lease_until, id)
    emit(outbox, key, id, {
      type = 'STARTED', status = 'processing', attempt = attempts, at = now,
      actor = 'worker:' .. worker, worker = worker, lease = token, reason = 'leased',
    })
    out[#out + 1] = { id, f[2], f[3], tonumber(f[4]), tonumber(f[5]), attempts,
      tonumber(f[7]), tonumber(f[8]), tonumber(f[9]) or 0, token, lease_until, deadline, now }
  end
end

return out
