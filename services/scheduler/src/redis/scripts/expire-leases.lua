--[[
  Recovers jobs whose lease ran out (the worker died, hung, or overran the
  attempt deadline). Each goes back to the ready set with a LEASE_EXPIRED
  event (status pending); after its last attempt it fails with LEASE_EXPIRED
  (status failed, error "lease expired"); with a cancel requested it ends
  CANCELLED.

  KEYS[1] leased zset
  KEYS[2] ready zset
  KEYS[3] outbox stream
  KEYS[4] job hash prefix

  ARGV[1] most leases to expire in this call
  ARGV[2] seconds a finished job's hash is kept

  Returns { requeued, ended }: jobs put back in the ready set, jobs finished.
]]

local leased, ready, outbox, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local limit, ttl_s = tonumber(ARGV[1]), tonumber(ARGV[2])
local actor = 'scheduler:expire-leases'
local now = now_ms()
local requeued, ended = 0, 0

local expired = redis.call('ZRANGE', leased, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
for _, id in ipairs(expired) do
  redis.call('ZREM', leased, id)
  local key = job_prefix .. id
  local f = redis.call('HMGET', key, 'state', 'attempts', 'max_attempts', 'cancel', 'worker')
  if f[1] == 'leased' then
    local attempts = tonumber(f[2])
    local ev = { attempt = attempts, at = now, actor = actor, worker = f[5] }
    if f[4] == '1' then
      ev.type, ev.status = 'CANCELLED', 'cancelled'
    elseif attempts >= tonumber(f[3]) then
      ev.type, ev.status, ev.error = 'LEASE_EXPIRED', 'failed', 'lease expired'
    else
      ev.type, ev.status, ev.error = 'LEASE_EXPIRED', 'pending', 'lease expired'
    end
    emit(outbox, key, id, ev)
    if ev.status == 'pending' then
      make_ready(ready, key, id, now)
      requeued = requeued + 1
    else
      finish(key, ttl_s)
      ended = ended + 1
    end
  end
end

return { requeued, ended }
