--[[
  Marks the start of a restore of every unfinished job after Redis lost its
  data: the reconciler's state hash gets a new epoch and the phase
  "restoring". Only a state that is absent, or itself "restoring" (a restore
  whose replica died), is replaced: a restore another replica completed
  meanwhile stands. The restore's end is saved only under the same epoch
  (save-reconcile-state.lua), so a second loss while it runs, which takes the
  hash with it, makes that save fail and the watch start over.

  KEYS[1] the reconciler's state hash

  ARGV[1] the new epoch (random)

  Returns 1 when the restore may go on, 0 when a completed state is there.
]]

local key = KEYS[1]
local phase = redis.call('HGET', key, 'phase')
if phase and phase ~= 'restoring' then
  return 0
end
redis.call('DEL', key)
redis.call('HSET', key, 'epoch', ARGV[1], 'phase', 'restoring')
return 1
