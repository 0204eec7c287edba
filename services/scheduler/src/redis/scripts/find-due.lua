--[[
  Reads, without writing, the first ids of a time-scored zset (delayed or
  leased) whose time has come by Redis's clock, lowest score first: the
  candidates a promote-delayed or expire-leases call then declares the job
  hashes of.

  KEYS[1] the zset; score = due time or lease deadline, ms since the Unix epoch

  ARGV[1] most ids to return

  Returns the ids, lowest score first.
]]

return redis.call('ZRANGE', KEYS[1], '-inf', now_ms(), 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))
