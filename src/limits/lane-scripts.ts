/**
 * The Redis side of a lane's limits, one Lua script per decision so that every process
 * sees and changes the lane atomically, on Redis's clock. All times are milliseconds.
 *
 * Keys of a lane: its log (sorted set: one member per request of the last longest window,
 * scored by time), its state hash (429 streak and pause, adaptive window, halt, counters)
 * and BullMQ's limiter key of the lane's queue (set to hold every worker of the lane).
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Holds the lane for at least ms; never shortens a longer hold. */
const HOLD_LIMITER = `
local function hold(limiter, ms)
  if tonumber(redis.call('GET', limiter) or 0) < 9007199254740991 or redis.call('PTTL', limiter) < ms then
    redis.call('SET', limiter, '9007199254740991', 'PX', ms)
  end
end
`;

/**
 * RESERVE: KEYS log, state, sent-marker hash; ARGV member, adaptWindowMs, quietMs, ceiling,
 * sent-marker field ('' for no check), then max/len pairs. A row whose (order, recipient)
 * pair was sent meanwhile takes no slot: {2, 0, now, pausedFor}.
 * Refuses while the lane is paused after a 429. Grows the adaptive window for every quiet
 * stretch since it last changed (dropping it once it reaches the ceiling), then admits the
 * request if every window, adaptive one included, has room. Returns {1, 0, now, 0} when
 * admitted, {0, waitMs, now, pausedFor} when not; pausedFor is what is left of a pause.
 */
export const RESERVE = `${NOW}
local log, state = KEYS[1], KEYS[2]
local member, adaptLen, quiet, ceiling = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local adapt = redis.call('HMGET', state, 'adaptMax', 'adaptAt', 'pausedUntil')
local pausedFor = math.max(0, tonumber(adapt[3] or 0) - now)
if ARGV[5] ~= '' and tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or 0) > now / 1000 then return {2, 0, now, pausedFor} end
if pausedFor > 0 then return {0, pausedFor, now, pausedFor} end
local windows = {}
for i = 6, #ARGV, 2 do windows[#windows + 1] = {tonumber(ARGV[i]), tonumber(ARGV[i + 1])} end
local m = tonumber(adapt[1])
if m then
  local at = tonumber(adapt[2])
  local steps = math.floor((now - at) / quiet)
  if steps > 0 then
    for _ = 1, math.min(steps, 100) do m = m + math.max(1, math.floor(m / 10)) end
    if (ceiling > 0 and m >= ceiling) or m > 1000000 then
      redis.call('HDEL', state, 'adaptMax', 'adaptAt')
      m = nil
    else
      redis.call('HSET', state, 'adaptMax', m, 'adaptAt', at + steps * quiet)
    end
  end
  if m then windows[#windows + 1] = {m, adaptLen} end
end
local longest = adaptLen
for _, w in ipairs(windows) do if w[2] > longest then longest = w[2] end end
redis.call('ZREMRANGEBYSCORE', log, '-inf', now - longest)
local wait = 0
for _, w in ipairs(windows) do
  local max, len = w[1], w[2]
  local count = redis.call('ZCOUNT', log, now - len + 1, '+inf')
  if count >= max then
    local oldest = redis.call('ZRANGEBYSCORE', log, now - len + 1, '+inf', 'WITHSCORES', 'LIMIT', count - max, 1)
    local free = tonumber(oldest[2]) + len - now
    if free > wait then wait = free end
  end
end
if wait > 0 then return {0, wait, now, 0} end
redis.call('ZADD', log, now, member)
redis.call('PEXPIRE', log, longest)
return {1, 0, now, 0}
`;

/** SETTLE: KEYS log; ARGV member. Re-stamps a finished request with the time of its answer. */
export const SETTLE = `${NOW}
redis.call('ZADD', KEYS[1], 'XX', 'GT', now, ARGV[1])
return now
`;

/**
 * PAUSE after a 429: KEYS state, limiter, log; ARGV retryAfterMs (0: none), baseMs, maxMs,
 * random in [0, 1), adaptWindowMs, decrease.
 * 429s that arrive while a pause runs come from requests sent before it: they keep the pause
 * but neither double it nor cut the rate again. A new pause lasts Retry-After, or
 * base * 2^(streak-1) plus up to 25% jitter, capped (backoffDelay in backoff.ts), and cuts
 * the adaptive window to `decrease` of its size; the first cut starts from the requests of
 * the last adaptive interval, when there were enough of them to explain the 429.
 * Returns {delayMs, streak, started (1/0), adaptMax (-1: none)}.
 */
export const PAUSE = `${NOW}${HOLD_LIMITER}
local state, limiter, log = KEYS[1], KEYS[2], KEYS[3]
local retryAfter, base, max, random = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local adaptLen, decrease = tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('HINCRBY', state, 'rateLimited', 1)
local pausedUntil = tonumber(redis.call('HGET', state, 'pausedUntil') or 0)
local m = tonumber(redis.call('HGET', state, 'adaptMax') or -1)
if now < pausedUntil then
  return {pausedUntil - now, tonumber(redis.call('HGET', state, 'streak') or 0), 0, m}
end
local streak = redis.call('HINCRBY', state, 'streak', 1)
local delay
if retryAfter > 0 then
  delay = retryAfter
else
  delay = math.floor(math.min(max, base * math.pow(2, math.min(streak - 1, 52)) * (1 + 0.25 * random)) + 0.5)
end
redis.call('HSET', state, 'pausedUntil', now + delay, 'lastPauseMs', delay)
redis.call('HINCRBY', state, 'pauses', 1)
hold(limiter, delay)
if m < 0 then
  -- First cut: start from what the lane sent in the last interval, if that explains a 429.
  local recent = redis.call('ZCOUNT', log, now - adaptLen + 1, '+inf')
  if recent >= 4 then m = recent end
end
if m > 0 then
  m = math.max(1, math.floor(m * decrease))
  redis.call('HSET', state, 'adaptMax', m, 'adaptAt', now)
  redis.call('HINCRBY', state, 'cuts', 1)
end
return {delay, streak, 1, m}
`;

/** HOLD: KEYS limiter; ARGV ms. */
export const HOLD = `${HOLD_LIMITER}
hold(KEYS[1], tonumber(ARGV[1]))
return 1
`;
