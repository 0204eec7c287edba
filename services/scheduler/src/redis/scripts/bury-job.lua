--[[
  CancelJob of a job Redis does not hold, after history recorded CANCELLED:
  writes the job's hash as a finished tombstone, so that an enqueue still in
  flight (a submit that committed to history but has not reached Redis yet)
  finds the hash and creates nothing. Leaves an existing hash alone.

  KEYS[1] the job's hash

  ARGV[1] job id
  ARGV[2] queue name
  ARGV[3] seconds the tombstone is kept

  Returns 1 when the tombstone was written, 0 when Redis holds the job now.
]]

local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then
  return 0
end
redis.call('HSET', key, 'id', ARGV[1], 'queue', ARGV[2], 'state', 'done', 'status', 'cancelled',
  'token', '', 'reported_token', '')
redis.call('EXPIRE', key, tonumber(ARGV[3]))
return 1
