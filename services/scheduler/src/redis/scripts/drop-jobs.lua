--[[
  Reconciliation: removes jobs from one queue's Redis state: from the ready,
  delayed and leased sets, and their hashes. Used for jobs history has
  finished (e.g. cancelled while Redis did not hold them) and for debris
  history never knew. Idempotent: dropping a dropped job changes nothing. A
  worker still holding a lease on a dropped job finds it lost at its next
  heartbeat or report.

  KEYS[1] ready zset
  KEYS[2] delayed zset
  KEYS[3] leased zset
  KEYS[4] job hash prefix

  ARGV[1..] job ids

  Returns the number of ids that Redis still held in some form.
]]

local ready, delayed, leased, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local dropped = 0

for _, id in ipairs(ARGV) do
  local n = redis.call('ZREM', ready, id) + redis.call('ZREM', delayed, id)
    + redis.call('ZREM', leased, id) + redis.call('DEL', job_prefix .. id)
  if n > 0 then
    dropped = dropped + 1
  end
end

return dropped
