--[[
  Extends a lock this caller still holds (compare, then extend: a lock that
  expired and went to another holder is not taken back).

  KEYS[1] the lock

  ARGV[1] the holder's random token
  ARGV[2] new time to live, ms

  Returns 1 when extended, 0 when the lock is no longer this holder's.
]]

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 0
