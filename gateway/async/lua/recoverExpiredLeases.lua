-- recoverExpiredLeases: events whose lease expired (their dispatcher died or lost
-- Redis) are ready again, so they run again: delivery is at-least-once.
--
-- KEYS[1] leased zset
-- KEYS[2] ready list
-- ARGV[1] key prefix of event hashes (<prefix>:ev:)
-- ARGV[2] now (epoch ms)
-- ARGV[3] max events to recover in this step
--
-- Returns the number of events recovered.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  -- Clearing the token makes a late answer from the dead holder a lease-lost no-op.
  redis.call('HSET', ARGV[1] .. id, 'state', 'ready', 'token', '')
  redis.call('RPUSH', KEYS[2], id)
end
return #ids
