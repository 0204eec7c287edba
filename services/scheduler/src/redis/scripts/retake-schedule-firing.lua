--[[
  Takes over a firing claimed longer ago than the lease (its replica died between the claim and
  the end), under a new token, so its ticks are submitted again; their jobs' idempotency keys
  make that yield the jobs already submitted, never second ones.

  KEYS[1] the schedule's hash
  KEYS[2] the firing zset

  ARGV[1] schedule id
  ARGV[2] lease, in ms
  ARGV[3] the new token

  Returns the firing's JSON when taken over; false when it is not stale (or gone).
]]

local since = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not since then
  return false
end
local now = now_ms()
if tonumber(since) > now - tonumber(ARGV[2]) then
  return false
end
local firing = redis.call('HGET', KEYS[1], 'firing')
if not firing then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('HSET', KEYS[1], 'firing_token', ARGV[3])
return firing
