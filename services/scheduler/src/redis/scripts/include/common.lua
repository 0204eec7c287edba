--[[
  Helpers shared by every script. scripts.ts prepends this file to each script,
  so each script stays one self-contained, atomic Lua call.

  Times come from Redis TIME only: every replica of the scheduler then agrees
  on one clock.
]]

local EPOCH_2024_MS = 1704067200000
-- 2^42 ms (about 139 years) of ready times per priority step; the largest score,
-- 1001 * 2^42, stays below 2^53 so doubles keep it exact.
local PRIORITY_STEP = 4398046511104

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Higher priority first, then whichever became ready first.
local function ready_score(priority, ready_at_ms)
  return (1000 - priority) * PRIORITY_STEP + (ready_at_ms - EPOCH_2024_MS)
end

-- Integral number as text, never in exponent form.
local function int(n)
  return string.format('%d', n)
end

-- Appends one transition of a job to the outbox stream and numbers it with
-- the job's next seq, so history sees every job's events 1, 2, 3, ... without gaps.
-- ev: type, status, attempt, at, actor, reason (a snake_case code, see
-- JobEvent.reason in job.proto) and optionally worker, error, result, details
-- and lease (the token of the lease the transition belongs to).
local function emit(outbox, job_key, id, ev)
  local seq = redis.call('HINCRBY', job_key, 'seq', 1)
  redis.call('HSET', job_key, 'status', ev.status)
  local f = {
    'job', id, 'seq', seq, 'type', ev.type, 'status', ev.status,
    'attempt', int(ev.attempt), 'actor', ev.actor, 'reason', ev.reason, 'at', int(ev.at),
  }
  for _, name in ipairs({ 'worker', 'lease', 'error', 'result', 'details' }) do
    if ev[name] ~= nil and ev[name] ~= '' then
      f[#f + 1] = name
      f[#f + 1] = ev[name]
    end
  end
  redis.call('XADD', outbox, '*', unpack(f))
end

-- Ends a job: the hash stays as a tombstone (so a retried report is answered
-- DUPLICATE and a cancel answers "finished") without its payload, then expires.
local function finish(job_key, ttl_s)
  redis.call('HSET', job_key, 'state', 'done', 'lease_until', '')
  redis.call('HDEL', job_key, 'payload')
  redis.call('EXPIRE', job_key, ttl_s)
end

-- Details of the CANCELLED event that ends a running job whose cancel was
-- requested: what CancelJob recorded with the request (cancel-job.lua), i.e.
-- the caller's reason and who asked (`requested_by`), since the event itself
-- is caused by the worker or the sweeper. nil when nothing was recorded.
local function cancel_details(job_key)
  local f = redis.call('HMGET', job_key, 'cancel_details', 'cancel_by')
  local d = {}
  if f[1] and f[1] ~= '' then
    d = cjson.decode(f[1])
  end
  if f[2] and f[2] ~= '' then
    d.requested_by = f[2]
  end
  if next(d) == nil then
    return nil
  end
  return cjson.encode(d)
end

-- Puts a job back at the end of its priority band in the ready set.
local function make_ready(ready, job_key, id, at_ms)
  local priority = tonumber(redis.call('HGET', job_key, 'priority')) or 0
  redis.call('HSET', job_key, 'state', 'ready', 'token', '', 'lease_until', '')
  redis.call('ZADD', ready, ready_score(priority, at_ms), id)
end
