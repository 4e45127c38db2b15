import type { ApiError } from '../certcentral/outcome.js';
import type { RedisKeys, SentMarker } from '../queue/keys.js';
import type { Lane } from '../queue/lanes.js';
import type { RedisClient } from '../redis.js';
import { type AdaptivePolicy, adaptiveCeiling } from './adaptive.js';
import type { BackoffOptions } from './backoff.js';
import { HOLD, PAUSE, RESERVE, SETTLE } from './lane-scripts.js';
import type { RollingWindow } from './windows.js';

export type Reservation =
  | { readonly granted: true; readonly at: number }
  | { readonly granted: false; readonly waitMs: number }
  /** The row's (order, recipient) pair was sent meanwhile: no slot taken. */
  | { readonly granted: false; readonly alreadySent: true };

export interface PauseDecision {
  /** How long the lane stays paused from now. */
  readonly delayMs: number;
  /** Consecutive 429s without a success between them. */
  readonly streak: number;
  /** False when the lane was already paused by an earlier 429. */
  readonly started: boolean;
  /** The adaptive window's size after this 429, if there is one. */
  readonly adaptiveMax: number | undefined;
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
  /** Adaptive window in force: at most `max` requests per `windowMs`. */
  readonly adaptive: RollingWindow | undefined;
  /** How many times a 429 cut the adaptive window. */
  readonly cuts: number;
  readonly halt: LaneHalt | undefined;
}

interface LaneCommands {
  sealmailReserve(
    log: string,
    state: string,
    ...args: (string | number)[]
  ): Promise<[number, number, number, number]>;
  sealmailSettle(log: string, member: string): Promise<number>;
  sealmailPause(
    state: string,
    limiter: string,
    log: string,
    ...args: number[]
  ): Promise<[number, number, number, number]>;
  sealmailHold(limiter: string, ms: number): Promise<number>;
}

export interface LaneLimiterOptions {
  /** The lane's configured windows (margin applied); empty for none. */
  readonly windows: readonly RollingWindow[];
  readonly adaptive: AdaptivePolicy;
  /** Pause after 429s. */
  readonly backoff: BackoffOptions;
}

/**
 * A lane's pace, shared by every process on one Redis: exact rolling windows, the lane-wide
 * pause after a 429, the adaptive window that settles under a tighter unknown throttle, and
 * the stop after a refused key. Every decision is one Lua script (lane-scripts.ts).
 */
export class LaneLimiter {
  private readonly commands: LaneCommands;
  private readonly ceiling: number;
  /** When the latest pause this process has heard of ends, on this host's clock. */
  private pausedUntil = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly lane: Lane,
    private readonly options: LaneLimiterOptions,
  ) {
    if (!('sealmailReserve' in redis)) {
      redis.defineCommand('sealmailReserve', { numberOfKeys: 3, lua: RESERVE });
      redis.defineCommand('sealmailSettle', { numberOfKeys: 1, lua: SETTLE });
      redis.defineCommand('sealmailPause', { numberOfKeys: 3, lua: PAUSE });
      redis.defineCommand('sealmailHold', { numberOfKeys: 1, lua: HOLD });
    }
    this.commands = redis as unknown as LaneCommands;
    this.ceiling = adaptiveCeiling(options.windows, options.adaptive.windowMs);
  }

  /**
   * Takes a slot for `member` if every window (the adaptive one included) has room now.
   * Given a sent marker, first checks in the same round trip that the row was not sent
   * meanwhile.
   */
  async reserve(member: string, sent?: SentMarker): Promise<Reservation> {
    const { windows, adaptive } = this.options;
    const [granted, waitMs, at, pausedFor] = await this.commands.sealmailReserve(
      this.keys.laneLog(this.lane),
      this.keys.lane(this.lane),
      sent?.key ?? this.keys.lane(this.lane),
      member,
      adaptive.windowMs,
      adaptive.quietMs,
      this.ceiling,
      sent?.field ?? '',
      ...windows.flatMap((w) => [w.max, w.windowMs]),
    );
    this.heardOfPause(pausedFor);
    if (granted === 2) return { granted: false, alreadySent: true };
    return granted === 1 ? { granted: true, at } : { granted: false, waitMs };
  }

  /** Moves `member` to now: call when its request has been answered (or has failed). */
  async settle(member: string): Promise<void> {
    await this.commands.sealmailSettle(this.keys.laneLog(this.lane), member);
  }

  /** Pauses the lane for every worker after a 429, and cuts the adaptive window. */
  async pauseAfter429(
    retryAfterMs: number | undefined,
    random = Math.random(),
  ): Promise<PauseDecision> {
    const { backoff, adaptive } = this.options;
    // At once, before the round trip: no other job of this process starts a request meanwhile.
    this.heardOfPause(backoff.baseMs);
    const [delayMs, streak, started, adaptiveMax] = await this.commands.sealmailPause(
      this.keys.lane(this.lane),
      this.keys.bullLimiter(this.lane),
      this.keys.laneLog(this.lane),
      retryAfterMs ?? 0,
      backoff.baseMs,
      backoff.maxMs,
      random,
      adaptive.windowMs,
      adaptive.decrease,
    );
    this.heardOfPause(delayMs);
    return {
      delayMs,
      streak,
      started: started === 1,
      adaptiveMax: adaptiveMax > 0 ? adaptiveMax : undefined,
    };
  }

  /**
   * What is left of the lane's pause after a 429, as this process last heard of it (from its
   * own 429s and from every reservation): no round trip, so it can be asked just before a call.
   */
  pausedFor(): number {
    return Math.max(0, this.pausedUntil - Date.now());
  }

  private heardOfPause(ms: number): void {
    if (ms > 0) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  /** Stops every worker fetching from the lane for at least `ms`. */
  async hold(ms: number): Promise<void> {
    await this.commands.sealmailHold(this.keys.bullLimiter(this.lane), Math.max(1, Math.ceil(ms)));
  }

  /** Remembers why the lane was stopped (the queue itself is paused by the caller). */
  async halt(status: number, error: ApiError): Promise<LaneHalt> {
    const halt = laneHalt(status, error);
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
    return readLaneStats(this.redis, this.keys, this.lane, this.options.adaptive.windowMs);
  }
}

/** Why a lane stopped: CertCentral refused the key. */
export function laneHalt(status: number, error: ApiError): LaneHalt {
  return {
    reason: `${error.code}${error.message ? `: ${error.message}` : ''}`,
    status,
    code: error.code,
    at: Date.now(),
  };
}

/** A lane's counters and state, for status, the dashboard and metrics. */
export async function readLaneStats(
  redis: RedisClient,
  keys: RedisKeys,
  lane: Lane,
  adaptiveWindowMs: number,
): Promise<LaneStats> {
  const hash = await redis.hgetall(keys.lane(lane));
  return {
    rateLimited: Number(hash.rateLimited ?? 0),
    pauses: Number(hash.pauses ?? 0),
    streak: Number(hash.streak ?? 0),
    pausedUntil: Number(hash.pausedUntil ?? 0),
    adaptive: hash.adaptMax
      ? { max: Number(hash.adaptMax), windowMs: adaptiveWindowMs }
      : undefined,
    cuts: Number(hash.cuts ?? 0),
    halt: hash.halt ? (JSON.parse(hash.halt) as LaneHalt) : undefined,
  };
}
