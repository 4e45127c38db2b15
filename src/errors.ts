/**
 * Errors a user can act on. Each carries a stable `code` and maps to a CLI exit code;
 * the CLI prints `message` on one line and never a stack trace for these.
 */
export class SealmailError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Bad flags, bad environment or unreadable input: exit code 2. */
export class UsageError extends SealmailError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'usage', message, { ...options, exitCode: 2 });
  }
}

/** Invalid configuration in the environment: exit code 2. */
export class ConfigError extends SealmailError {
  constructor(message: string) {
    super('config', message, { exitCode: 2 });
  }
}

/** Redis could not be reached. */
export class RedisUnavailableError extends SealmailError {
  constructor(message: string, cause?: unknown) {
    super('redis_unavailable', message, { cause, exitCode: 1 });
  }
}
