--[[
  Releases a lock only if this caller still holds it (compare and delete), so
  a holder whose lock expired never frees the next holder's.

  KEYS[1] the lock

  ARGV[1] the holder's random token

  Returns 1 when released, 0 when the lock was not this holder's.
]]

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
