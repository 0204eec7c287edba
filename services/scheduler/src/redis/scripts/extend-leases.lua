--[[
  Heartbeat: extends the leases a worker still holds on jobs of one queue. A
  lease never runs past the attempt deadline plus a grace, so a job that
  overruns its timeout loses its lease even while its worker heartbeats.

  KEYS[1] leased zset
  KEYS[2..] the jobs' hashes, one per pair in ARGV order

  ARGV[1] lease duration, ms
  ARGV[2] grace after the attempt deadline, ms
  ARGV[3..] pairs: job id, lease token

  Returns one { code, lease_until_ms, attempt, now_ms } per pair, in order. code: 1 ACTIVE,
  2 LOST (wrong token, the job moved on, or its attempt timed out), 3 CANCEL_REQUESTED (still
  extended, so the worker has time to stop and report). attempt is the leased attempt's number
  (0 when LOST) and now_ms Redis's clock: together they order the progress values the heartbeat
  carries, whichever replica forwards them.
]]

local leased = KEYS[1]
local lease_ms, grace_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local out = {}

for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local key = KEYS[2 + (i - 3) / 2]
  local f = redis.call('HMGET', key, 'state', 'token', 'deadline', 'cancel', 'attempts')
  local lease_until = 0
  if f[1] == 'leased' and f[2] == token then
    lease_until = math.min(now + lease_ms, tonumber(f[3]) + grace_ms)
  end
  -- Past the attempt deadline plus grace the lease cannot be extended: the
  -- attempt timed out and expire-leases will move the job on.
  if lease_until > now then
    redis.call('HSET', key, 'lease_until', int(lease_until))
    redis.call('ZADD', leased, lease_until, id)
    local code = 1
    if f[4] == '1' then
      code = 3
    end
    out[#out + 1] = { code, lease_until, tonumber(f[5]) or 0, now }
  else
    out[#out + 1] = { 2, 0, 0, now }
  end
end

return out
