/** What every handler returns: plain data, so handlers are tested without a server. */
export interface HandlerResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The one shape of every error body, CertCentral's own: `{"errors":[{code,message}]}`. */
export function errorResult(status: number, code: string, message: string): HandlerResult {
  return { status, body: { errors: [{ code, message }] } };
}

export function ok(body: unknown, status = 200): HandlerResult {
  return { status, body };
}
