--[[
  Adds new jobs of one queue: creates each job's hash and puts the job in the
  ready set of its type, or in the delayed set when it is due later. A job
  whose hash exists already is left as it is, so a retried enqueue (or one
  racing the reconciler's restore, or a cancel's tombstone) changes nothing.
  Notes the time in the queue's meta hash, so an idle queue is not forgotten
  while jobs arrive.

  KEYS[1] ready set prefix (`<prefix>:{<queue>}:ready:`, one zset per type)
  KEYS[2] set of types with ready jobs
  KEYS[3] delayed zset
  KEYS[4] job hash prefix (`<prefix>:{<queue>}:job:`, same slot as the others)
  KEYS[5] queue meta hash

  ARGV[1] queue name
  ARGV[2..] 9 fields per job: id, type, payload (JSON text), priority,
            max_attempts, timeout_ms, delay_ms, run_at_ms (0 = use delay_ms),
            created_ms

  Returns { created, { type1, n1, ... } }: the number of jobs created and, per
  type, how many of them are ready now.
]]

local ready_prefix, types, delayed, job_prefix, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local queue = ARGV[1]
local now = now_ms()
local created = 0
local ready_counts = {}

for i = 2, #ARGV, 9 do
  local id = ARGV[i]
  local key = job_prefix .. id
  if redis.call('EXISTS', key) == 0 then
    local job_type, priority = ARGV[i + 1], tonumber(ARGV[i + 3])
    local run_at = tonumber(ARGV[i + 7])
    local due = run_at
    if run_at <= 0 then
      due = now + tonumber(ARGV[i + 6])
    end
    local state = 'ready'
    if due > now then
      state = 'delayed'
    end
    redis.call('HSET', key,
      'id', id, 'type', job_type, 'queue', queue, 'payload', ARGV[i + 2],
      'priority', priority, 'max_attempts', ARGV[i + 4], 'attempts', 0,
      'timeout_ms', ARGV[i + 5], 'seq', 1, 'state', state, 'status', 'pending',
      'token', '', 'worker', '', 'lease_until', '', 'deadline', '', 'cancel', 0,
      'reported_token', '', 'scheduled_ms', int(due), 'created_ms', ARGV[i + 8])
    if state == 'ready' then
      add_ready(ready_prefix, types, job_type, priority, now, id)
      count_type(ready_counts, job_type)
    else
      redis.call('ZADD', delayed, due, id)
    end
    created = created + 1
  end
end

redis.call('HSET', meta, 'touched_ms', int(now))
return { created, flat_counts(ready_counts) }
