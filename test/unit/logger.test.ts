import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('never writes the API key, whatever field carries it', () => {
    const { lines, destination } = capture();
    const key = 'SECRET-KEY-1234567890';
    const logger = createLogger({ level: 'debug', secrets: [key], destination });
    logger.info({ apiKey: key }, 'field');
    logger.info({ options: { headers: { 'x-dc-devkey': key } } }, 'got-style error');
    logger.info({ url: `https://x/?k=${key}` }, `message with ${key}`);
    logger.error({ err: new Error(`boom ${key}`) }, 'error');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).not.toContain(key);
    expect(lines.join('')).toContain('[redacted]');
  });
});
