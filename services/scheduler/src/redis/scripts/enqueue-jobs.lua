--[[
  Adds new jobs of one queue: creates each job's hash and puts the job in the
  ready set, or in the delayed set when it is due later. A job whose hash
  exists already is left as it is, so a retried enqueue changes nothing.

  KEYS[1] ready zset
  KEYS[2] delayed zset
  KEYS[3] job hash prefix (`<prefix>:{<queue>}:job:`, same slot as the others)

  ARGV[1] queue name
  ARGV[2..] 9 fields per job: id, type, payload (JSON text), priority,
            max_attempts, timeout_ms, delay_ms, run_at_ms (0 = use delay_ms),
            created_ms

  Returns the number of jobs created.
]]

local ready, delayed, job_prefix = KEYS[1], KEYS[2], KEYS[3]
local queue = ARGV[1]
local now = now_ms()
local created = 0

for i = 2, #ARGV, 9 do
  local id = ARGV[i]
  local key = job_prefix .. id
  if redis.call('EXISTS', key) == 0 then
    local priority = tonumber(ARGV[i + 3])
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
      'id', id, 'type', ARGV[i + 1], 'queue', queue, 'payload', ARGV[i + 2],
      'priority', priority, 'max_attempts', ARGV[i + 4], 'attempts', 0,
      'timeout_ms', ARGV[i + 5], 'seq', 1, 'state', state, 'status', 'pending',
      'token', '', 'worker', '', 'lease_until', '', 'deadline', '', 'cancel', 0,
      'reported_token', '', 'scheduled_ms', int(due), 'created_ms', ARGV[i + 8])
    if state == 'ready' then
      redis.call('ZADD', ready, ready_score(priority, now), id)
    else
      redis.call('ZADD', delayed, due, id)
    end
    created = created + 1
  end
end

return created
