--[[
  Moves delayed jobs whose due time has come into the ready sets of their
  types, oldest due first. Their ready time is their due time, so a job that
  waited for a retry does not lose its place to jobs submitted after it was
  due.

  KEYS[1] delayed zset
  KEYS[2] ready set prefix (one zset per type)
  KEYS[3] set of types with ready jobs
  KEYS[4] job hash prefix

  ARGV[1] most jobs to move in this call

  Returns { moved, { type1, n1, ... } }: the delayed entries handled and, per
  type, the jobs that became ready.
]]

local delayed, ready_prefix, types, job_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local limit = tonumber(ARGV[1])
local now = now_ms()
local counts = {}

local due = redis.call('ZRANGE', delayed, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZREM', delayed, id)
  local key = job_prefix .. id
  if redis.call('HGET', key, 'state') == 'delayed' then
    count_type(counts, make_ready(ready_prefix, types, key, id, tonumber(due[i + 1])))
  end
end

return { #due / 2, flat_counts(counts) }
