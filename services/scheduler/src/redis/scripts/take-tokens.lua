--[[
  Takes tokens from one identity's submit bucket, or refuses and says how long
  until they would be there. GCRA, the token bucket kept as one number: the
  bucket stores its "theoretical arrival time" (tat), the time at which it
  would be full again; each token pushes it one interval (1000 / rate ms)
  further. Taking n tokens is allowed while the new tat stays within burst
  intervals of now. The key expires when the bucket is full again, so an
  identity that stopped submitting leaves nothing behind. One key, so the
  script runs on Redis Cluster as it is; every replica shares the bucket and
  Redis's clock.

  KEYS[1] the identity's bucket (string: tat, ms since the Unix epoch)

  ARGV[1] interval: ms per token (1000 / jobs per second; may be fractional)
  ARGV[2] burst: the bucket's size, tokens
  ARGV[3] tokens to take (at most burst: the caller refuses larger batches)
  ARGV[4] now, ms since the Unix epoch; empty: Redis TIME (tests alone pass one)

  Returns {1, tokens left} when taken, {0, ms until the tokens are there} when
  refused (nothing changes then).
]]

local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local now = now_ms()
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
end

local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local new_tat = tat + n * interval
-- How far new_tat reaches past a full bucket's span; a millionth of a ms of
-- slack absorbs the rounding of fractional intervals.
local early = new_tat - burst * interval - now
if early > 1e-6 then
  return { 0, math.ceil(early) }
end
redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return { 1, math.floor((burst * interval - (new_tat - now)) / interval + 1e-6) }
