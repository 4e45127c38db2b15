import { describe, expect, it } from 'vitest';
import { classify, parseRetryAfter } from '../../src/certcentral/outcome.js';

const body = (code: string, message = 'm') => JSON.stringify({ errors: [{ code, message }] });

describe('classify', () => {
  it('treats 204 as sent', () => {
    expect(classify({ status: 204, body: '' })).toEqual({ kind: 'sent', status: 204 });
  });

  it('treats 429 as rate limited, with Retry-After when present', () => {
    const outcome = classify({
      status: 429,
      body: body('request_limit_exceeded'),
      retryAfter: '7',
    });
    expect(outcome).toMatchObject({ kind: 'rateLimited', retryAfterMs: 7000 });
    expect(classify({ status: 429, body: '' })).toMatchObject({ retryAfterMs: undefined });
  });

  it.each([401, 403])('treats %d as a refused key that stops the lane', (status) => {
    expect(
      classify({ status, body: body('access_denied|access_denied_invalid_key') }),
    ).toMatchObject({
      kind: 'denied',
      error: { code: 'access_denied|access_denied_invalid_key' },
    });
  });

  it('treats an unknown order as a permanent failure of that row, keeping the error', () => {
    expect(classify({ status: 404, body: body('not_found|order', 'Order not found.') })).toEqual({
      kind: 'permanent',
      status: 404,
      error: { code: 'not_found|order', message: 'Order not found.' },
    });
  });

  it('treats a wrong route (a bad base URL) as stopping the lane, not failing rows', () => {
    expect(classify({ status: 404, body: body('not_found|route') }).kind).toBe('denied');
    expect(classify({ status: 404, body: '<html>nginx</html>' }).kind).toBe('denied');
    expect(classify({ status: 301, body: '' }).kind).toBe('denied');
  });

  it('treats 400 and other 4xx as permanent, 5xx and 408 as transient', () => {
    expect(classify({ status: 400, body: body('bad_request_format') }).kind).toBe('permanent');
    expect(classify({ status: 422, body: '' }).kind).toBe('permanent');
    expect(classify({ status: 408, body: '' }).kind).toBe('transient');
    expect(classify({ status: 500, body: '' })).toMatchObject({
      kind: 'transient',
      error: { code: 'http_500' },
    });
    expect(classify({ status: 503, body: body('service_unavailable') }).kind).toBe('transient');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 03 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
