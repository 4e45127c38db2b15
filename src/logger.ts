import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  /** Human-readable output through pino-pretty instead of JSON lines. @defaultValue false */
  readonly pretty?: boolean;
  /** Literal values (the API key) scrubbed from every line, whatever field they hide in. */
  readonly secrets?: readonly (string | undefined)[];
  /** Where lines go. @defaultValue standard output */
  readonly destination?: NodeJS.WritableStream;
}

/** Field paths that may hold the key; `secrets` catches it anywhere else. */
const REDACT = [
  'apiKey',
  '*.apiKey',
  'headers["x-dc-devkey"]',
  '*.headers["x-dc-devkey"]',
  '*.*.headers["x-dc-devkey"]',
];

/** The one root logger of a process; everything else gets a `child`. */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter((s): s is string => !!s && s.length >= 4);
  const target = options.destination ?? process.stdout;
  const out = options.pretty ? prettyStream(target) : target;
  const stream: DestinationStream = secrets.length ? scrubbing(out, secrets) : (out as never);
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    stream,
  );
}

function scrubbing(out: NodeJS.WritableStream, secrets: readonly string[]): DestinationStream {
  return {
    write(line: string) {
      let clean = line;
      for (const secret of secrets) clean = clean.split(secret).join('[redacted]');
      out.write(clean);
    },
  };
}

function prettyStream(out: NodeJS.WritableStream): NodeJS.WritableStream {
  // Loaded lazily so JSON logging never pays for pino-pretty.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (opts: object) => Writable;
  return pretty({ colorize: false, destination: out, sync: true });
}

/** A logger that drops everything: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
