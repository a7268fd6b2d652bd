-- redriveEvent: a dead-lettered event is queued again as if just accepted: its
-- counters and its age start over.
--
-- KEYS[1] dead-letter zset of the function
-- KEYS[2] ready list
-- KEYS[3] ages zset
-- KEYS[4] event hash
-- ARGV[1] id
-- ARGV[2] now (epoch ms)
--
-- Returns  1 redriven
--         -1 no such dead letter for this function; nothing changed
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return -1
end
redis.call('HDEL', KEYS[4], 'deadAt', 'condition', 'record', 'lastError')
redis.call('HSET', KEYS[4], 'state', 'ready', 'enqueuedAt', ARGV[2], 'dueAt', ARGV[2],
  'invokes', 0, 'functionErrors', 0, 'systemRetries', 0)
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
