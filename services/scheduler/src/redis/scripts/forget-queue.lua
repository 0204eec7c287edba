--[[
  Tells whether a queue is idle and may leave the set of queues the loops
  sweep: no ready, delayed or leased job, nothing in its outbox (so no entry
  is pending for any replica) or parked, neither paused nor limited, nor any
  of its job types limited (all live in its meta hash, beside `touched_ms`
  and the rate limiters' state), and no job arrived since `idle_before`. An idle queue's empty outbox stream (with its consumer
  group) is deleted too, so a forgotten queue leaves nothing behind; the next
  transition creates the stream again and the forwarder its group.

  KEYS[1] set of types with ready jobs
  KEYS[2] delayed zset
  KEYS[3] leased zset
  KEYS[4] outbox stream
  KEYS[5] parked outbox stream
  KEYS[6] queue meta hash

  ARGV[1] idle_before: the queue counts as idle only if it was last touched
          before this, ms since the Unix epoch

  Returns 1 when the queue is idle, else 0.
]]

local types, delayed, leased, outbox, parked, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local idle_before = tonumber(ARGV[1])

if redis.call('SCARD', types) > 0 or redis.call('ZCARD', delayed) > 0
    or redis.call('ZCARD', leased) > 0 or redis.call('XLEN', parked) > 0 then
  return 0
end
if (tonumber(redis.call('HGET', meta, 'touched_ms')) or 0) >= idle_before then
  return 0
end
for _, field in ipairs(redis.call('HKEYS', meta)) do
  if field ~= 'touched_ms' and field ~= 'tat' and not string.find(field, ':tat$') then
    return 0
  end
end
if redis.call('EXISTS', outbox) == 1 then
  if redis.call('XLEN', outbox) > 0 then
    return 0
  end
  redis.call('DEL', outbox)
end
redis.call('DEL', meta)
return 1
