--[[
  Moves delayed jobs whose due time has come into the ready sets of their
  types. Their ready time is their due time, so a job that waited for a retry
  does not lose its place to jobs submitted after it was due. The candidates
  are ids the caller read (find-due.lua); each is checked again here, and one
  no longer in the delayed set, or no longer due (another replica promoted it,
  or it was cancelled or rescheduled since), is passed over.

  KEYS[1] delayed zset
  KEYS[2] set of types with ready jobs
  KEYS[3..2+n] the ready sets of the n job types declared in ARGV
  KEYS[3+n..] the candidates' hashes, one per id in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  ARGV[n+2..] the candidate ids

  Returns { handled, { type1, n1, ... } }: the delayed entries handled (taken
  out of the delayed set) and, per type, the jobs that became ready; or the
  error TF_UNDECLARED_TYPES (see include/common.lua) when a job's type has no
  declared ready set.
]]

local delayed, types = KEYS[1], KEYS[2]
local first, job_at = declare_ready(3)
local now = now_ms()
local counts = {}

local due, needed = {}, {}
for i = first, #ARGV do
  local id = ARGV[i]
  local score = tonumber(redis.call('ZSCORE', delayed, id))
  if score and score <= now then
    local key = KEYS[job_at + i - first]
    local f = redis.call('HMGET', key, 'state', 'type')
    local c = { id = id, key = key, score = score, promote = f[1] == 'delayed' }
    if c.promote then
      needed[#needed + 1] = f[2] or ''
    end
    due[#due + 1] = c
  end
end
local refused = check_types(needed)
if refused then
  return refused
end

for _, c in ipairs(due) do
  redis.call('ZREM', delayed, c.id)
  if c.promote then
    count_type(counts, make_ready(types, c.key, c.id, c.score))
  end
end

return { #due, flat_counts(counts) }
