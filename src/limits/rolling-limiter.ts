import type { Redis } from 'ioredis';
import type { RollingWindow } from './windows.js';

/**
 * Exact rolling-window limits shared by every process on one Redis.
 *
 * A sorted set holds one member per request of the last longest-window, scored with
 * Redis's clock (one clock for every host). `reserve` admits a request only when every
 * window has room, atomically, and otherwise says how long until the oldest blocking
 * request leaves its window. `settle` re-stamps a finished request with the time its answer
 * came back: the server saw it no later than that, so latency can never squeeze two
 * windows' worth of requests into one interval as the server measures it.
 */
const RESERVE = `
local key = KEYS[1]
local member = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local longest = 0
for i = 2, #ARGV, 2 do
  local len = tonumber(ARGV[i + 1])
  if len > longest then longest = len end
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
local wait = 0
for i = 2, #ARGV, 2 do
  local max = tonumber(ARGV[i])
  local len = tonumber(ARGV[i + 1])
  local count = redis.call('ZCOUNT', key, now - len + 1, '+inf')
  if count >= max then
    local oldest = redis.call('ZRANGEBYSCORE', key, now - len + 1, '+inf', 'WITHSCORES', 'LIMIT', count - max, 1)
    local free = tonumber(oldest[2]) + len - now
    if free > wait then wait = free end
  end
end
if wait > 0 then return {0, wait, now} end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, longest)
return {1, 0, now}
`;

const SETTLE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', 'GT', now, ARGV[1])
return now
`;

export type Reservation =
  | { readonly granted: true; readonly at: number }
  | { readonly granted: false; readonly waitMs: number };

interface LimiterCommands {
  sealmailReserve(key: string, ...args: (string | number)[]): Promise<[number, number, number]>;
  sealmailSettle(key: string, member: string): Promise<number>;
}

export function defineLimiterCommands(redis: Redis): void {
  if ('sealmailReserve' in redis) return;
  redis.defineCommand('sealmailReserve', { numberOfKeys: 1, lua: RESERVE });
  redis.defineCommand('sealmailSettle', { numberOfKeys: 1, lua: SETTLE });
}

export class RollingLimiter {
  private readonly commands: LimiterCommands;

  constructor(
    redis: Redis,
    private readonly key: string,
  ) {
    defineLimiterCommands(redis);
    this.commands = redis as unknown as LimiterCommands;
  }

  /** Takes a slot for `member` if every window has room now. */
  async reserve(member: string, windows: readonly RollingWindow[]): Promise<Reservation> {
    if (windows.length === 0) return { granted: true, at: Date.now() };
    const args = windows.flatMap((w) => [w.max, w.windowMs]);
    const [granted, waitMs, at] = await this.commands.sealmailReserve(this.key, member, ...args);
    return granted === 1 ? { granted: true, at } : { granted: false, waitMs };
  }

  /** Moves `member` to now: call when its request has been answered (or has failed). */
  async settle(member: string): Promise<void> {
    await this.commands.sealmailSettle(this.key, member);
  }
}
