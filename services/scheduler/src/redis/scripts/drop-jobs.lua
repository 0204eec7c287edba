--[[
  Reconciliation: removes jobs from one queue's Redis state: from the ready,
  delayed and leased sets, and their hashes. Used for jobs history has
  finished (e.g. cancelled while Redis did not hold them) and for debris
  history never knew. Idempotent: dropping a dropped job changes nothing. A
  worker still holding a lease on a dropped job finds it lost at its next
  heartbeat or report.

  KEYS[1] ready set prefix (one zset per type)
  KEYS[2] set of types with ready jobs
  KEYS[3] delayed zset
  KEYS[4] leased zset
  KEYS[5] job hash prefix

  ARGV[1..] pairs: job id, the type whose ready set it was seen in ('' for
            none); the type in the job's hash, when there is one, is
            cleaned as well

  Returns the number of ids that Redis still held in some form.
]]

local ready_prefix, types, delayed, leased, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local dropped = 0

for i = 1, #ARGV, 2 do
  local id, seen_type = ARGV[i], ARGV[i + 1]
  local key = job_prefix .. id
  local n = redis.call('ZREM', delayed, id) + redis.call('ZREM', leased, id)
  local hash_type = redis.call('HGET', key, 'type')
  if hash_type then
    n = n + remove_ready(ready_prefix, types, hash_type, id)
  end
  if seen_type ~= '' and seen_type ~= hash_type then
    n = n + remove_ready(ready_prefix, types, seen_type, id)
  end
  n = n + redis.call('DEL', key)
  if n > 0 then
    dropped = dropped + 1
  end
end

return dropped
