--[[
  Adds new jobs of one queue: creates each job's hash and puts the job in the
  ready set of its type, or in the delayed set when it is due later. A job
  whose hash exists already is left as it is, so a retried enqueue (or one
  racing the reconciler's restore, or a cancel's tombstone) changes nothing.
  Notes the time in the queue's meta hash, so an idle queue is not forgotten
  while jobs arrive.

  KEYS[1] set of types with ready jobs
  KEYS[2] delayed zset
  KEYS[3] queue meta hash
  KEYS[4..3+n] the ready sets of the n job types declared in ARGV (every
               type of the batch)
  KEYS[4+n..] the jobs' hashes, one per job in ARGV order

  ARGV[1] n, the number of declared ready sets
  ARGV[2..n+1] their job types
  ARGV[n+2] queue name
  ARGV[n+3] W3C traceparent of the submit that created the jobs, kept in each
            new hash as 'traceparent' so leases and events join its trace;
            '' when the submit was not traced (no field is written then)
  ARGV[n+4..] 9 fields per job: id, type, payload (JSON text), priority,
            max_attempts, timeout_ms, delay_ms, run_at_ms (0 = use delay_ms),
            created_ms

  Returns { created, { type1, n1, ... } }: the number of jobs created and, per
  type, how many of them are ready now; or the error TF_UNDECLARED_TYPES (see
  include/common.lua) when a job's type has no declared ready set.
]]

local types, delayed, meta = KEYS[1], KEYS[2], KEYS[3]
local at, job_at = declare_ready(4)
local queue, trace_parent = ARGV[at], ARGV[at + 1]
local first = at + 2
local now = now_ms()
local created = 0
local ready_counts = {}

local refused = check_types(batch_types(first, 9))
if refused then
  return refused
end

for i = first, #ARGV, 9 do
  local id = ARGV[i]
  local key = KEYS[job_at + (i - first) / 9]
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
    if trace_parent ~= '' then
      redis.call('HSET', key, 'traceparent', trace_parent)
    end
    if state == 'ready' then
      add_ready(types, job_type, priority, now, id)
      count_type(ready_counts, job_type)
    else
      redis.call('ZADD', delayed, due, id)
    end
    created = created + 1
  end
end

redis.call('HSET', meta, 'touched_ms', int(now))
return { created, flat_counts(ready_counts) }
