-- claimEvents: due retries become ready, then up to `max` ready events are leased
-- to one dispatcher. A lease is a score in the leased zset (its expiry) plus the
-- claimer's token in the event: only the token holder may move the event on, and
-- recoverExpiredLeases hands the event to someone else once the score has passed.
--
-- KEYS[1] ready list
-- KEYS[2] delayed zset     (score = when the retry is due)
-- KEYS[3] leased zset      (score = lease expiry)
-- ARGV[1] key prefix of event hashes (<prefix>:ev:)
-- ARGV[2] now (epoch ms)
-- ARGV[3] lease expiry (epoch ms)
-- ARGV[4] max events to claim
-- ARGV[5] lease token of the claimer
--
-- Returns a list of events, each a flat list: id, field, value, field, value, ...
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HSET', ARGV[1] .. id, 'state', 'ready')
  -- Retries go to the popping end: they are older than anything in the list.
  redis.call('RPUSH', KEYS[1], id)
end
local out = {}
local max = tonumber(ARGV[4])
while #out < max do
  local id = redis.call('RPOP', KEYS[1])
  if not id then break end
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'state', 'leased', 'token', ARGV[5])
    redis.call('ZADD', KEYS[3], ARGV[3], id)
    local ev = redis.call('HGETALL', key)
    table.insert(ev, 1, id)
    out[#out + 1] = ev
  end
end
return out
