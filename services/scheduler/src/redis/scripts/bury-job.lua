--[[
  CancelJob of a job Redis does not hold (Redis lost it, or its submit has
  committed to history and not yet reached Redis): writes the job's hash as a
  cancelled tombstone and records CANCELLED in the outbox, numbered after
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
emit(outbox, key, ARGV[1], { type = 'CANCELLED', status = 'cancelled', attempt = tonumber(ARGV[5]),
  at = now, actor = ARGV[6], reason = 'cancel_requested', details = ARGV[7] })
finish(key)
return { 1, now }
