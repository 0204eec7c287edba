--[[
  Saves the reconciler's progress at the end of a run, only if the state is
  still the one the run started from (same epoch): a run that began before
  Redis lost its data must not recreate the marker of Redis's data, or the
  loss would go unnoticed and the lost jobs unrestored. Ends a restore (phase
  "ok") under its own epoch.

  KEYS[1] the reconciler's state hash

  ARGV[1] the epoch the run read at its start
  ARGV[2] cursor: every unfinished job up to this id was checked
  ARGV[3] queue of the walk's next position ('' when the walk went round)
  ARGV[4] sorted set of that position
  ARGV[5] ZSCAN cursor of that position

  Returns 1 when saved, 0 when the state changed meanwhile (nothing written).
]]

local key = KEYS[1]
if redis.call('HGET', key, 'epoch') ~= ARGV[1] then
  return 0
end
redis.call('HSET', key, 'phase', 'ok', 'cursor', ARGV[2])
if ARGV[3] == '' then
  redis.call('HDEL', key, 'walk_queue', 'walk_set', 'walk_cursor')
else
  redis.call('HSET', key, 'walk_queue', ARGV[3], 'walk_set', ARGV[4], 'walk_cursor', ARGV[5])
end
return 1
