--[[
  Ends a job Redis does not hold: a CancelJob of a job Redis lost (or whose
  submit has committed to history and not yet reached Redis), or a flow's
  child, waiting in history alone, that its parents' outcome and its policy
  fail or cancel. Writes the job's hash as a tombstone and records CANCELLED
  (or FAILED) in the outbox, numbered after
  history's newest event, in one step. From then on an enqueue still in
  flight finds the hash and creates nothing, a restore by the reconciler does
  the same, and the cancel reaches history even if the caller's own write to
  history fails: the answer the caller gets is what happens. Leaves an
  existing hash alone.

  KEYS[1] the job's hash
  KEYS[2] outbox stream

  ARGV[1] job id
  ARGV[2] queue name
  ARGV[3] job type
  ARGV[4] seq of history's newest event of the job (CANCELLED gets seq + 1)
  ARGV[5] attempts started so far
  ARGV[6] actor: who asked, "api" or "api:<caller>"
  ARGV[7] details JSON recorded with the event, or ''
  ARGV[8] how the job ends: 'cancelled' (a CancelJob) or 'failed'
  ARGV[9] reason of the event ('cancel_requested', or 'parent_failed' for a
          flow's child whose parent failed or was cancelled)
  ARGV[10] error of a failed job, or ''

  Returns { 1, at_ms } when the tombstone was written, { 0, 0 } when Redis
  holds the job now.
]]

local key, outbox = KEYS[1], KEYS[2]
if redis.call('EXISTS', key) == 1 then
  return { 0, 0 }
end
local now = now_ms()
redis.call('HSET', key, 'id', ARGV[1], 'queue', ARGV[2], 'type', ARGV[3], 'seq', ARGV[4],
  'attempts', ARGV[5], 'token', '', 'reported_token', '')
local ev = { type = 'CANCELLED', status = 'cancelled', attempt = tonumber(ARGV[5]),
  at = now, actor = ARGV[6], reason = ARGV[9], details = ARGV[7] }
if ARGV[8] == 'failed' then
  ev.type, ev.status, ev.error = 'FAILED', 'failed', ARGV[10]
end
emit(outbox, key, ARGV[1], ev)
finish(key)
return { 1, now }
