-- extendLeases: a live dispatcher pushes back the expiry of the events it is running.
--
-- KEYS[1] leased zset
-- ARGV[1] key prefix of event hashes (<prefix>:ev:)
-- ARGV[2] new lease expiry (epoch ms)
-- ARGV[3] lease token of the dispatcher
-- ARGV[4..] event ids
--
-- Returns the number of leases extended; an id whose token differs was recovered
-- and claimed by someone else and is left alone.
local n = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', ARGV[1] .. id, 'token') == ARGV[3] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
    n = n + 1
  end
end
return n
