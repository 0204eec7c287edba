--[[
  Upgrade step: moves jobs from a queue's single ready zset, as earlier
  versions kept it, into the ready sets of their types, keeping each job's
  score (its priority band and ready time). Run at start-up and by the queue
  janitor until the legacy set is gone, so jobs enqueued by a replica of the
  earlier version during a rolling upgrade are not stranded. The candidates
  are ids the caller read from the legacy set; one no longer there is passed
  over.

  KEYS[1] the legacy ready zset (`<prefix>:{<queue>}:ready`)
  KEYS[2] set of types with ready jobs
  KEYS[3..2+n] the ready sets of the n job types declared in ARGV
  KEYS[3+n..] the candidates' hashes, one per id in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  ARGV[n+2..] the candidate ids

  Returns the number of entries moved or dropped (an entry without a job hash
  is dropped); or the error TF_UNDECLARED_TYPES (see include/common.lua) when
  a job's type has no declared ready set.
]]

local legacy, types = KEYS[1], KEYS[2]
local first, job_at = declare_ready(3)

local entries, needed = {}, {}
for i = first, #ARGV do
  local id = ARGV[i]
  local score = redis.call('ZSCORE', legacy, id)
  if score then
    local job_type = redis.call('HGET', KEYS[job_at + i - first], 'type')
    entries[#entries + 1] = { id = id, score = score, job_type = job_type }
    if job_type then
      needed[#needed + 1] = job_type
    end
  end
end
local refused = check_types(needed)
if refused then
  return refused
end

for _, e in ipairs(entries) do
  redis.call('ZREM', legacy, e.id)
  if e.job_type then
    redis.call('ZADD', ready_key(e.job_type), e.score, e.id)
    redis.call('SADD', types, e.job_type)
  end
end
return #entries
