--[[
  Claims a schedule's due ticks for one replica: compares the schedule's next tick and version
  with what the replica read, and only then moves the next tick on and records the firing (its
  ticks and a random token) as in flight. Of several replicas reading the same tick, exactly
  one claim succeeds. A schedule whose previous firing is still in flight is not claimed.

  KEYS[1] the schedule's hash
  KEYS[2] the due zset
  KEYS[3] the firing zset (schedule id, score = when its firing was claimed, Redis time)

  ARGV[1] schedule id
  ARGV[2] the next tick the replica read (ms)
  ARGV[3] the version the replica read
  ARGV[4] the new next tick (ms); 0: none (the cron fires no more)
  ARGV[5] the firing as JSON (its ticks)
  ARGV[6] the firing's token

  Returns 1 when claimed, 0 when anything moved meanwhile (another replica claimed it, the
  definition changed, the schedule was paused or deleted) or a firing is in flight.
]]

local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[3] then
  return 0
end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return 0
end
if tonumber(ARGV[4]) > 0 then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
redis.call('HSET', KEYS[1], 'firing', ARGV[5], 'firing_token', ARGV[6])
redis.call('ZADD', KEYS[3], now_ms(), ARGV[1])
return 1
