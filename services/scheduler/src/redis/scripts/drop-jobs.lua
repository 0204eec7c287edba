--[[
  Reconciliation: removes jobs from one queue's Redis state: from the ready,
  delayed and leased sets, and their hashes. Used for jobs history has
  finished (e.g. cancelled while Redis did not hold them) and for debris
  history never knew. Idempotent: dropping a dropped job changes nothing. A
  worker still holding a lease on a dropped job finds it lost at its next
  heartbeat or report.

  KEYS[1] set of types with ready jobs
  KEYS[2] delayed zset
  KEYS[3] leased zset
  KEYS[4] running hash: leased jobs per type
  KEYS[5..4+n] the ready sets of the n job types declared in ARGV (the types
               the jobs were seen in, and those of their hashes)
  KEYS[5+n..] the jobs' hashes, one per pair in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  ARGV[n+2..] pairs: job id, the type whose ready set it was seen in ('' for
            none); the type in the job's hash, when there is one, is
            cleaned as well

  Returns the number of ids that Redis still held in some form; or the error
  TF_UNDECLARED_TYPES (see include/common.lua) when a job's type has no
  declared ready set.
]]

local types, delayed, leased, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local first, job_at = declare_ready(5)
local dropped = 0

local job_keys, needed = {}, {}
for i = first, #ARGV, 2 do
  job_keys[#job_keys + 1] = KEYS[job_at + (i - first) / 2]
  if ARGV[i + 1] ~= '' then
    needed[#needed + 1] = ARGV[i + 1]
  end
end
for _, t in ipairs(types_of(job_keys)) do
  needed[#needed + 1] = t
end
local refused = check_types(needed)
if refused then
  return refused
end

for i = first, #ARGV, 2 do
  local id, seen_type = ARGV[i], ARGV[i + 1]
  local key = job_keys[1 + (i - first) / 2]
  local hash_type = redis.call('HGET', key, 'type')
  local n = redis.call('ZREM', delayed, id) + unlease(leased, running, id, hash_type or seen_type)
  if hash_type then
    n = n + remove_ready(types, hash_type, id)
  end
  if seen_type ~= '' and seen_type ~= hash_type then
    n = n + remove_ready(types, seen_type, id)
  end
  n = n + redis.call('DEL', key)
  if n > 0 then
    dropped = dropped + 1
  end
end

return dropped
