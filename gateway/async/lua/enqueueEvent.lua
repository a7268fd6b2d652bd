-- enqueueEvent: a new event becomes ready to run.
--
-- KEYS[1] ready list       (ids waiting to run; LPUSH here, claimEvents pops the other end)
-- KEYS[2] ages zset        (every live event by enqueue time: depth and oldest age)
-- KEYS[3] event hash       (<prefix>:ev:<id>)
-- ARGV[1] id
-- ARGV[2] now (epoch ms)
-- ARGV[3..] field, value pairs of the event (fn, payload, requestId, ...)
--
-- Returns  1 enqueued
--          0 an event with this id already exists (a client retry): nothing changed
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
local fields = {}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[3], 'state', 'ready', 'enqueuedAt', ARGV[2], 'dueAt', ARGV[2],
  'invokes', 0, 'functionErrors', 0, 'systemRetries', 0, unpack(fields))
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
