-- deadLetterEvent: retries are exhausted or the event is too old. It moves to the
-- function's dead letters (kept for inspection and redrive) and the on-failure
-- destination (if any) receives its record in the same step.
--
-- KEYS[1] leased zset
-- KEYS[2] ages zset
-- KEYS[3] event hash
-- KEYS[4] dead-letter zset of the function (score = when it died)
-- KEYS[5] ready list                      (for a function destination)
-- KEYS[6] destination queue list          (for a queue destination)
-- KEYS[7] event hash of the new event     (for a function destination)
-- ARGV[1] id
-- ARGV[2] lease token
-- ARGV[3] now (epoch ms)
-- ARGV[4] condition: RetriesExhausted | EventAgeExceeded
-- ARGV[5] destination record (JSON)
-- ARGV[6] destination kind: none | queue | function
-- ARGV[7] id of the new event             (function destination)
-- ARGV[8] function of the new event       (function destination)
-- ARGV[9] trace header of the new event   (function destination; '' for none)
--
-- Returns  1 dead-lettered
--         -1 lease lost (see completeEvent); nothing changed
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then
  return -1
end
redis.call('HSET', KEYS[3], 'state', 'dead', 'token', '', 'deadAt', ARGV[3],
  'condition', ARGV[4], 'record', ARGV[5])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
if ARGV[6] == 'queue' then
  redis.call('RPUSH', KEYS[6], ARGV[5])
elseif ARGV[6] == 'function' then
  redis.call('HSET', KEYS[7], 'state', 'ready', 'enqueuedAt', ARGV[3], 'dueAt', ARGV[3],
    'invokes', 0, 'functionErrors', 0, 'systemRetries', 0,
    'fn', ARGV[8], 'requestId', ARGV[7], 'payload', ARGV[5])
  if ARGV[9] ~= '' then
    redis.call('HSET', KEYS[7], 'traceId', ARGV[9])
  end
  redis.call('LPUSH', KEYS[5], ARGV[7])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[7])
end
return 1
