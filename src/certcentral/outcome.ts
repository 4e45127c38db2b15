/** CertCentral's error body: `{"errors":[{"code":"...","message":"..."}]}`. */
export interface ApiError {
  readonly code: string;
  readonly message: string;
}

/** What one call to "email site seal" came to. */
export type Outcome =
  /** 2xx: the seal code was emailed. */
  | { readonly kind: 'sent'; readonly status: number }
  /** 429: not a failure and not an attempt; the lane pauses. */
  | {
      readonly kind: 'rateLimited';
      readonly status: 429;
      readonly error: ApiError;
      readonly retryAfterMs: number | undefined;
    }
  /** The key (or the base URL) is unusable: every request would fail the same way. */
  | { readonly kind: 'denied'; readonly status: number; readonly error: ApiError }
  /** This row can never succeed (unknown order, invalid recipient…). */
  | { readonly kind: 'permanent'; readonly status: number; readonly error: ApiError }
  /** Worth trying again later (5xx, timeout, connection reset). */
  | { readonly kind: 'transient'; readonly status: number | undefined; readonly error: ApiError };

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  /** The Retry-After header, when present. */
  readonly retryAfter?: string | undefined;
  /** Current time, for Retry-After given as an HTTP date. */
  readonly now?: number;
}

/** Sorts an HTTP answer into an outcome. Pure. */
export function classify(answer: HttpAnswer): Outcome {
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'sent', status };
  const error = parseApiError(answer.body, status);
  if (status === 429) {
    return {
      kind: 'rateLimited',
      status,
      error,
      retryAfterMs: parseRetryAfter(answer.retryAfter, answer.now ?? Date.now()),
    };
  }
  if (status === 401 || status === 403) return { kind: 'denied', status, error };
  if (status >= 300 && status < 400) {
    return {
      kind: 'denied',
      status,
      error: { code: 'redirect', message: 'unexpected redirect: check CERTCENTRAL_BASE_URL' },
    };
  }
  if (status === 404 && !isOrderNotFound(error)) {
    // A 404 that is not about the order means the path itself is wrong: every row would fail.
    return {
      kind: 'denied',
      status,
      error: { code: error.code, message: `${error.message}: check CERTCENTRAL_BASE_URL` },
    };
  }
  if (status === 408) return { kind: 'transient', status, error };
  if (status >= 400 && status < 500) return { kind: 'permanent', status, error };
  return { kind: 'transient', status, error };
}

function isOrderNotFound(error: ApiError): boolean {
  return error.code.startsWith('not_found') && error.code !== 'not_found|route';
}

/** The first error of a CertCentral error body, or a description of an unexpected body. */
export function parseApiError(body: string, status: number): ApiError {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    if (first && typeof first.code === 'string') {
      return {
        code: first.code.slice(0, 100),
        message: typeof first.message === 'string' ? first.message.slice(0, 500) : '',
      };
    }
  } catch {
    // not JSON: fall through
  }
  return { code: `http_${status}`, message: `HTTP ${status} with an unexpected body` };
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A network-level failure (no HTTP answer) as a transient outcome. */
export function networkFailure(code: string | undefined, message: string): Outcome {
  return {
    kind: 'transient',
    status: undefined,
    error: { code: code ? code.toLowerCase() : 'network_error', message },
  };
}
