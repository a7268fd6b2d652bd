-- retryEvent: the attempt failed and the event waits for its next attempt.
--
-- KEYS[1] leased zset
-- KEYS[2] delayed zset
-- KEYS[3] event hash
-- ARGV[1] id
-- ARGV[2] lease token
-- ARGV[3] when the next attempt is due (epoch ms)
-- ARGV[4..] field, value pairs to record (counters, last error)
--
-- Returns  1 scheduled
--         -1 lease lost (see completeEvent); nothing changed
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then
  return -1
end
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[3], 'state', 'delayed', 'token', '', 'dueAt', ARGV[3], unpack(fields))
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
