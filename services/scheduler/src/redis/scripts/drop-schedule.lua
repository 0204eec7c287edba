--[[
  Removes a deleted schedule's firing state, leaving a tombstone of its last version for a day,
  so that a late write of an older definition cannot bring it back (see put-schedule.lua).

  KEYS[1] the schedule's hash
  KEYS[2] the due zset
  KEYS[3] the firing zset (schedule id, score = when its firing was claimed)

  ARGV[1] schedule id
  ARGV[2] version: a version above every one the schedule had, or the one Redis was seen to hold
  ARGV[3] tombstone lifetime, in ms

  Returns 1 when dropped, 0 when Redis holds a newer version (the schedule was created again).
]]

local stored = redis.call('HGET', KEYS[1], 'version')
if stored and tonumber(stored) > tonumber(ARGV[2]) then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'deleted', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
