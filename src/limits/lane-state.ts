import type { Redis } from 'ioredis';
import type { ApiError } from '../certcentral/outcome.js';
import type { RedisKeys } from '../queue/keys.js';
import type { Lane } from '../queue/lanes.js';
import { type BackoffOptions, JITTER } from './backoff.js';

// A 429 pauses the whole lane: BullMQ's limiter key is set so that no worker of any process
// fetches from the lane until it expires. 429s that arrive while a pause is already running
// come from requests sent before it: they keep the pause but do not double it again.
// The delay is backoffDelay() of backoff.ts, computed here so that it is decided atomically.
const PAUSE = `
local lane, limiter = KEYS[1], KEYS[2]
local retryAfter, base, max, random = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HINCRBY', lane, 'rateLimited', 1)
local pausedUntil = tonumber(redis.call('HGET', lane, 'pausedUntil') or 0)
local streak = tonumber(redis.call('HGET', lane, 'streak') or 0)
if now < pausedUntil then return {pausedUntil - now, streak, 0} end
streak = redis.call('HINCRBY', lane, 'streak', 1)
local delay
if retryAfter > 0 then
  delay = retryAfter
else
  delay = math.floor(math.min(max, base * math.pow(2, math.min(streak - 1, 52)) * (1 + ${JITTER} * random)) + 0.5)
end
redis.call('HSET', lane, 'pausedUntil', now + delay, 'lastPauseMs', delay)
redis.call('HINCRBY', lane, 'pauses', 1)
if tonumber(redis.call('GET', limiter) or 0) < 9007199254740991 or redis.call('PTTL', limiter) < delay then
  redis.call('SET', limiter, '9007199254740991', 'PX', delay)
end
return {delay, streak, 1}
`;

// Holds the lane (no worker fetches) for at least ms; never shortens a longer hold.
const HOLD = `
local limiter, ms = KEYS[1], tonumber(ARGV[1])
if tonumber(redis.call('GET', limiter) or 0) < 9007199254740991 or redis.call('PTTL', limiter) < ms then
  redis.call('SET', limiter, '9007199254740991', 'PX', ms)
end
return 1
`;

export interface PauseDecision {
  /** How long the lane stays paused from now. */
  readonly delayMs: number;
  /** Consecutive 429s without a success between them. */
  readonly streak: number;
  /** False when the lane was already paused by an earlier 429. */
  readonly started: boolean;
}

export interface LaneHalt {
  readonly reason: string;
  readonly status: number;
  readonly code: string;
  readonly at: number;
}

export interface LaneStats {
  readonly rateLimited: number;
  readonly pauses: number;
  readonly streak: number;
  readonly pausedUntil: number;
  readonly halt: LaneHalt | undefined;
}

interface LaneCommands {
  sealmailPauseLane(
    lane: string,
    limiter: string,
    ...args: number[]
  ): Promise<[number, number, number]>;
  sealmailHoldLane(limiter: string, ms: number): Promise<number>;
}

/** A lane's shared state in Redis: 429 backoff, a halt after a refused key, counters. */
export class LaneState {
  private readonly commands: LaneCommands;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly lane: Lane,
  ) {
    if (!('sealmailPauseLane' in redis)) {
      redis.defineCommand('sealmailPauseLane', { numberOfKeys: 2, lua: PAUSE });
      redis.defineCommand('sealmailHoldLane', { numberOfKeys: 1, lua: HOLD });
    }
    this.commands = redis as unknown as LaneCommands;
  }

  /** Pauses the lane for every worker after a 429. */
  async pauseAfter429(
    retryAfterMs: number | undefined,
    backoff: BackoffOptions,
    random = Math.random(),
  ): Promise<PauseDecision> {
    const [delayMs, streak, started] = await this.commands.sealmailPauseLane(
      this.keys.lane(this.lane),
      this.keys.bullLimiter(this.lane),
      retryAfterMs ?? 0,
      backoff.baseMs,
      backoff.maxMs,
      random,
    );
    return { delayMs, streak, started: started === 1 };
  }

  /** Stops every worker fetching from the lane for at least `ms` (a full rolling window). */
  async hold(ms: number): Promise<void> {
    await this.commands.sealmailHoldLane(
      this.keys.bullLimiter(this.lane),
      Math.max(1, Math.ceil(ms)),
    );
  }

  /** A success ends a 429 streak. */
  async recordSuccess(): Promise<void> {
    await this.redis.hset(this.keys.lane(this.lane), 'streak', 0);
  }

  /** Remembers why the lane was stopped (the queue itself is paused by the caller). */
  async halt(status: number, error: ApiError): Promise<LaneHalt> {
    const halt: LaneHalt = {
      reason: `${error.code}${error.message ? `: ${error.message}` : ''}`,
      status,
      code: error.code,
      at: Date.now(),
    };
    await this.redis.hset(this.keys.lane(this.lane), 'halt', JSON.stringify(halt));
    return halt;
  }

  /** Clears a halt; returns the one cleared, if any. */
  async clearHalt(): Promise<LaneHalt | undefined> {
    const key = this.keys.lane(this.lane);
    const [[, raw]] = (await this.redis.multi().hget(key, 'halt').hdel(key, 'halt').exec()) as [
      [unknown, string | null],
    ];
    return raw ? (JSON.parse(raw) as LaneHalt) : undefined;
  }

  async stats(): Promise<LaneStats> {
    const hash = await this.redis.hgetall(this.keys.lane(this.lane));
    return {
      rateLimited: Number(hash.rateLimited ?? 0),
      pauses: Number(hash.pauses ?? 0),
      streak: Number(hash.streak ?? 0),
      pausedUntil: Number(hash.pausedUntil ?? 0),
      halt: hash.halt ? (JSON.parse(hash.halt) as LaneHalt) : undefined,
    };
  }
}
