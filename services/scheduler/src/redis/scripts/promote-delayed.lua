--[[
  Moves delayed jobs whose due time has come into the ready set, oldest due
  first. Their ready time is their due time, so a job that waited for a
  retry does not lose its place to jobs submitted after it was due.

  KEYS[1] delayed zset
  KEYS[2] ready zset
  KEYS[3] job hash prefix

  ARGV[1] most jobs to move in this call

  Returns the number of jobs moved.
]]

local delayed, ready, job_prefix = KEYS[1], KEYS[2], KEYS[3]
local limit = tonumber(ARGV[1])
local now = now_ms()

local due = redis.call('ZRANGE', delayed, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZREM', delayed, id)
  local key = job_prefix .. id
  if redis.call('HGET', key, 'state') == 'delayed' then
    make_ready(ready, key, id, tonumber(due[i + 1]))
  end
end

return #due / 2
