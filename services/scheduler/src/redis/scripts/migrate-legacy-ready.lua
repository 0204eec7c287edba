--[[
  Upgrade step: moves jobs from a queue's single ready zset, as earlier
  versions kept it, into the ready sets of their types, keeping each job's
  score (its priority band and ready time). Run at start-up and by the queue
  janitor until the legacy set is gone, so jobs enqueued by a replica of the
  earlier version during a rolling upgrade are not stranded.

  KEYS[1] the legacy ready zset (`<prefix>:{<queue>}:ready`)
  KEYS[2] ready set prefix (one zset per type)
  KEYS[3] set of types with ready jobs
  KEYS[4] job hash prefix

  ARGV[1] most jobs to move in this call

  Returns the number of entries handled (less than ARGV[1] when the legacy
  set is empty now).
]]

local legacy, ready_prefix, types, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local limit = tonumber(ARGV[1])

local entries = redis.call('ZRANGE', legacy, 0, limit - 1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local id = entries[i]
  redis.call('ZREM', legacy, id)
  local job_type = redis.call('HGET', job_prefix .. id, 'type')
  if job_type then
    redis.call('ZADD', ready_prefix .. job_type, entries[i + 1], id)
    redis.call('SADD', types, job_type)
  end
end
return #entries / 2
