import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { AdaptivePolicy } from './limits/adaptive.js';
import { parseWindows, type RollingWindow } from './limits/windows.js';

export const CERTCENTRAL_US = 'https://www.digicert.com/services/v2';
export const CERTCENTRAL_EU = 'https://certcentral.digicert.eu/services/v2';

const windows = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx): RollingWindow[] => {
      try {
        return parseWindows(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

const int = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''));

const redisUrl = z
  .string()
  .url()
  .refine((u) => /^rediss?:\/\//i.test(u), 'must start with redis:// or rediss://');

/** An empty variable (`FOO=`, or compose's `${FOO:-}`) counts as unset. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    schema,
  );

const envSchema = z.object({
  CERTCENTRAL_API_KEY: unsetIfEmpty(z.string().trim().min(1).optional()),
  CERTCENTRAL_BASE_URL: httpUrl.default(CERTCENTRAL_US),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('false')
    .transform((v) => ['true', '1', 'yes'].includes(v)),
  SEAL_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.{}-]{1,64}$/, 'letters, digits, _ . - { } only')
    .default('sealmail'),
  SEAL_LIMITS: windows('100/5s,1000/3m'),
  SEAL_DIRECT_LIMITS: windows(''),
  SEAL_LIMIT_MARGIN: z.coerce.number().min(0).max(0.5).default(0),
  SEAL_ADAPT_WINDOW_MS: int(1_000, 10),
  SEAL_ADAPT_QUIET_MS: int(5_000, 10),
  SEAL_ADAPT_DECREASE: z.coerce.number().gt(0).lt(1).default(0.9),
  SEAL_CONCURRENCY: int(8, 1, 500),
  SEAL_PREFETCH: int(4, 0, 500),
  SEAL_MAX_ATTEMPTS: int(5, 1, 100),
  SEAL_RETRY_BASE_MS: int(2_000, 1),
  SEAL_RETRY_MAX_MS: int(120_000, 1),
  SEAL_BACKOFF_BASE_MS: int(5_000, 1),
  SEAL_BACKOFF_MAX_MS: int(300_000, 1),
  SEAL_REQUEST_TIMEOUT_MS: int(30_000, 100),
  SEAL_SENT_TTL_DAYS: z.coerce.number().positive().default(30),
  SEAL_BATCH_TTL_DAYS: z.coerce.number().positive().default(90),
  SEAL_SHUTDOWN_GRACE_MS: int(30_000, 0),
  SEAL_LOCK_MS: int(30_000, 500),
  SEAL_MAX_STALLS: int(10, 0, 1_000),
  DASHBOARD_TOKEN: unsetIfEmpty(
    z.string().trim().min(16, 'must be at least 16 characters').optional(),
  ),
  DASHBOARD_READ_ONLY: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('false')
    .transform((v) => ['true', '1', 'yes'].includes(v)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

export interface Config {
  /** CertCentral API key; absent for commands that do not call the API. Never logged or stored. */
  readonly apiKey: string | undefined;
  readonly baseUrl: string;
  readonly redisUrl: string;
  /** REDIS_URL names one node of a Redis Cluster. @defaultValue false */
  readonly redisCluster: boolean;
  /**
   * Prefix of every Redis key this product writes. On a cluster it is a hash tag
   * (`{sealmail}`), so that every key of a queue and of a batch lives in one slot.
   * @defaultValue `sealmail`
   */
  readonly prefix: string;
  readonly limits: { readonly throttled: RollingWindow[]; readonly direct: RollingWindow[] };
  /** Fraction of each window kept free for the account's other traffic. @defaultValue 0 */
  readonly limitMargin: number;
  /** How a lane settles under a throttle tighter than its windows. */
  readonly adaptive: AdaptivePolicy;
  /** Requests in flight per lane per process. @defaultValue 8 */
  readonly concurrency: number;
  /**
   * Jobs each lane holds beyond its request slots, per process, so that a freed slot sends
   * again at once instead of waiting for the queue's round trips. @defaultValue 4
   */
  readonly prefetch: number;
  /** Attempts per row for transient failures (5xx, timeouts, resets). @defaultValue 5 */
  readonly maxAttempts: number;
  /** Exponential backoff of transient retries. */
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  /** Lane pause after a 429: base doubles per consecutive 429, up to max. */
  readonly backoff429: { readonly baseMs: number; readonly maxMs: number };
  readonly requestTimeoutMs: number;
  /** How long a sent (order, recipient) is remembered as `already_sent`. @defaultValue 30 days */
  readonly sentTtlSeconds: number;
  /** How long a finished batch (its record, rows and report) is kept. @defaultValue 90 days */
  readonly batchTtlSeconds: number;
  readonly shutdownGraceMs: number;
  /**
   * How long a worker's hold on a job lasts without renewal; a job whose worker died is
   * picked up again within about twice this. @defaultValue 30000
   */
  readonly lockMs: number;
  /**
   * How many times a row's job may be taken back from a worker that died holding it before
   * the row fails (`job_failed`): a row that keeps killing workers stops. @defaultValue 10
   */
  readonly maxStalls: number;
  readonly log: { readonly level: string; readonly pretty: boolean };
  /** The job dashboard's credentials and mode. Never logged. */
  readonly dashboard: { readonly token: string | undefined; readonly readOnly: boolean };
}

/** Reads the environment once. Throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    apiKey: e.CERTCENTRAL_API_KEY,
    baseUrl: e.CERTCENTRAL_BASE_URL,
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER,
    prefix:
      e.REDIS_CLUSTER && !/\{[^}]+\}/.test(e.SEAL_PREFIX) ? `{${e.SEAL_PREFIX}}` : e.SEAL_PREFIX,
    limits: { throttled: e.SEAL_LIMITS, direct: e.SEAL_DIRECT_LIMITS },
    limitMargin: e.SEAL_LIMIT_MARGIN,
    adaptive: {
      windowMs: e.SEAL_ADAPT_WINDOW_MS,
      quietMs: e.SEAL_ADAPT_QUIET_MS,
      decrease: e.SEAL_ADAPT_DECREASE,
    },
    concurrency: e.SEAL_CONCURRENCY,
    prefetch: e.SEAL_PREFETCH,
    maxAttempts: e.SEAL_MAX_ATTEMPTS,
    retry: { baseMs: e.SEAL_RETRY_BASE_MS, maxMs: e.SEAL_RETRY_MAX_MS },
    backoff429: { baseMs: e.SEAL_BACKOFF_BASE_MS, maxMs: e.SEAL_BACKOFF_MAX_MS },
    requestTimeoutMs: e.SEAL_REQUEST_TIMEOUT_MS,
    sentTtlSeconds: Math.round(e.SEAL_SENT_TTL_DAYS * 86_400),
    batchTtlSeconds: Math.round(e.SEAL_BATCH_TTL_DAYS * 86_400),
    shutdownGraceMs: e.SEAL_SHUTDOWN_GRACE_MS,
    lockMs: e.SEAL_LOCK_MS,
    maxStalls: e.SEAL_MAX_STALLS,
    log: { level: e.LOG_LEVEL, pretty: e.LOG_FORMAT === 'pretty' },
    dashboard: { token: e.DASHBOARD_TOKEN, readOnly: e.DASHBOARD_READ_ONLY },
  };
}

/** The API key, or a clear error for commands that need one. */
export function requireApiKey(config: Config): string {
  if (!config.apiKey) {
    throw new ConfigError('CERTCENTRAL_API_KEY is not set; export your CertCentral API key first');
  }
  return config.apiKey;
}

/** A Redis URL safe to print: the password is masked. */
export function displayRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(invalid url)';
  }
}
