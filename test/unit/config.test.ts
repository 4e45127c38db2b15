import { describe, expect, it } from 'vitest';
import { CERTCENTRAL_US, displayRedisUrl, loadConfig, requireApiKey } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

describe('loadConfig', () => {
  it('has sane defaults', () => {
    const config = loadConfig({});
    expect(config.baseUrl).toBe(CERTCENTRAL_US);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.limits.throttled).toEqual([
      { max: 100, windowMs: 5_000 },
      { max: 1000, windowMs: 180_000 },
    ]);
    expect(config.limits.direct).toEqual([]);
    expect(config.sentTtlSeconds).toBe(30 * 86_400);
    expect(config.backoff429).toEqual({ baseMs: 5_000, maxMs: 300_000 });
  });

  it('names every bad variable in one message', () => {
    expect(() =>
      loadConfig({ CERTCENTRAL_BASE_URL: 'ftp://x', SEAL_LIMITS: '100', SEAL_CONCURRENCY: '0' }),
    ).toThrow(/CERTCENTRAL_BASE_URL.*SEAL_LIMITS.*SEAL_CONCURRENCY/);
  });

  it('strips a trailing slash from the base URL', () => {
    expect(
      loadConfig({ CERTCENTRAL_BASE_URL: 'https://certcentral.digicert.eu/services/v2/' }).baseUrl,
    ).toBe('https://certcentral.digicert.eu/services/v2');
  });

  it('asks for the API key only where it is needed', () => {
    expect(() => requireApiKey(loadConfig({}))).toThrow(ConfigError);
    expect(requireApiKey(loadConfig({ CERTCENTRAL_API_KEY: 'k123' }))).toBe('k123');
  });

  it('masks a Redis password for display', () => {
    expect(displayRedisUrl('redis://user:secret@host:6379/0')).toBe('redis://user:***@host:6379/0');
  });
});
