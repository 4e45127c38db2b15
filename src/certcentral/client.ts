import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got, { type Got, RequestError } from 'got';
import { assertOrderId, type OrderId } from '../order-id.js';
import { classify, networkFailure, type Outcome } from './outcome.js';

export interface ClientOptions {
  /** e.g. `https://www.digicert.com/services/v2`, no trailing slash. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Whole-request timeout. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /** Kept-alive sockets per origin. @defaultValue 64 */
  readonly maxSockets?: number;
}

export interface CertCentralClient {
  /** POSTs order/certificate/{id}/site-seal/email-seal; never throws for HTTP or network trouble. */
  emailSeal(orderId: OrderId, recipient: string | undefined): Promise<Outcome>;
  /** Cuts off every request in flight, and any made later: each ends as a transient `aborted` outcome. */
  abortAll(): void;
  close(): void;
}

export function createClient(options: ClientOptions): CertCentralClient {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
  const agent = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
  const http: Got = got.extend({
    prefixUrl: `${options.baseUrl}/`,
    headers: { 'x-dc-devkey': options.apiKey, accept: 'application/json' },
    retry: { limit: 0 },
    timeout: { request: options.timeoutMs ?? 30_000 },
    throwHttpErrors: false,
    followRedirect: false,
    agent,
  });

  // One signal for every request: once aborted, later requests are cut off at once too.
  const aborter = new AbortController();
  setMaxListeners(0, aborter.signal);

  return {
    async emailSeal(orderId, recipient) {
      const id = assertOrderId(orderId);
      const { signal } = aborter;
      try {
        const response = await http.post(`order/certificate/${id}/site-seal/email-seal`, {
          ...(recipient === undefined ? {} : { json: { recipient_email: recipient } }),
          signal,
        });
        return classify({
          status: response.statusCode,
          body: response.body,
          retryAfter: response.headers['retry-after'],
        });
      } catch (error) {
        // got attaches the request options (headers included) to its errors: keep only the code.
        if (signal.aborted) return networkFailure('aborted', 'request cut off at shutdown');
        if (error instanceof RequestError) return networkFailure(error.code, describe(error));
        return networkFailure(undefined, error instanceof Error ? error.message : String(error));
      }
    },
    abortAll() {
      aborter.abort();
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

function describe(error: RequestError): string {
  if (error.name === 'TimeoutError') return 'request timed out';
  return (error.message || error.code || 'request failed').split('\n')[0] ?? 'request failed';
}
