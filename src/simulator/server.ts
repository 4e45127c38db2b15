import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recipientProblem } from '../csv/row-schema.js';
import type { RollingWindow } from '../limits/windows.js';
import { type OrderSet, parseOrderSet } from './order-set.js';
import { RollingCounter } from './rolling-counter.js';

/** How the stand-in behaves. Every fault rate is a probability per request, 0 to 1. */
export interface SimulatorOptions {
  /** The one API key it accepts. */
  readonly apiKey: string;
  /** Orders it knows; others answer 404 `not_found|order`. @defaultValue 1-1000000 */
  readonly orders?: OrderSet;
  /** Account limits over every request. @defaultValue CertCentral's documented 100/5s,1000/3m */
  readonly limits?: readonly RollingWindow[];
  /** Extra throttle on requests with a recipient. @defaultValue none */
  readonly recipientLimits?: readonly RollingWindow[];
  /** Share of requests answered 500 or 503. @defaultValue 0 */
  readonly failRate?: number;
  /** Share of requests whose connection is reset without an answer. @defaultValue 0 */
  readonly resetRate?: number;
  /** Share of requests answered only after `slowMs` (the email is still sent). @defaultValue 0 */
  readonly slowRate?: number;
  /** @defaultValue 60000 */
  readonly slowMs?: number;
  /** Delay before every answer. @defaultValue 0 */
  readonly latencyMs?: number;
  /** Appends every delivered email to this file, one JSON line each. */
  readonly recordFile?: string;
  /** Source of randomness for faults. @defaultValue Math.random */
  readonly random?: () => number;
  /** Keep every answer (order id and status) for `requests()`. @defaultValue false */
  readonly logRequests?: boolean;
}

export interface Delivery {
  readonly orderId: number;
  /** `null` when the seal went to the key's owner. */
  readonly recipient: string | null;
  readonly at: number;
}

export interface SimulatorStats {
  readonly requests: number;
  /** Requests received and not answered yet. */
  readonly inFlight: number;
  /** The most requests in flight at once since the start or the last reset. */
  readonly peakInFlight: number;
  readonly byStatus: Record<string, number>;
  readonly deliveries: number;
  /** Most requests admitted in any rolling interval, per configured window. */
  readonly peaks: { all: PeakStat[]; recipient: PeakStat[] };
}

interface PeakStat {
  readonly window: RollingWindow;
  readonly peak: number;
}

/** One answered request, when `logRequests` is on. */
export interface RequestRecord {
  readonly orderId: string;
  /** HTTP status, or `reset` for a connection reset without an answer. */
  readonly status: number | 'reset';
}

export interface Simulator {
  /** e.g. `http://127.0.0.1:41234/services/v2`: what CERTCENTRAL_BASE_URL should be. */
  readonly baseUrl: string;
  readonly port: number;
  deliveries(): readonly Delivery[];
  /** Every answered request, when `logRequests` is on. */
  requests(): readonly RequestRecord[];
  stats(): SimulatorStats;
  /** Answers 429 to every request for `ms`. */
  storm(ms: number): void;
  /** Changes faults, latency or known orders while running. */
  configure(
    changes: Partial<Omit<SimulatorOptions, 'apiKey' | 'limits' | 'recipientLimits'>>,
  ): void;
  reset(): void;
  close(): Promise<void>;
}

export const DOCUMENTED_LIMITS: readonly RollingWindow[] = [
  { max: 100, windowMs: 5_000 },
  { max: 1000, windowMs: 180_000 },
];

const ROUTE = /^\/services\/v2\/order\/certificate\/([^/]+)\/site-seal\/email-seal\/?$/;

/** Starts a local stand-in for CertCentral's "email site seal" endpoint. */
export async function startSimulator(
  initial: SimulatorOptions,
  listen: { port?: number; host?: string } = {},
): Promise<Simulator> {
  let options = { ...initial };
  const random = options.random ?? Math.random;
  let orders = options.orders ?? parseOrderSet('1-1000000');
  let deliveries: Delivery[] = [];
  let requestLog: RequestRecord[] = [];
  let byStatus: Record<string, number> = {};
  let requests = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let all = new RollingCounter(options.limits ?? DOCUMENTED_LIMITS);
  let recipient = new RollingCounter(options.recipientLimits ?? []);
  let stormUntil = 0;
  const sockets = new Set<import('node:net').Socket>();

  const answer = (res: ServerResponse, status: number, code?: string, message?: string) => {
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    const send = () => {
      if (code === undefined) {
        res.writeHead(status).end();
      } else {
        const body = JSON.stringify({ errors: [{ code, message }] });
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      }
    };
    if (options.latencyMs) setTimeout(send, options.latencyMs).unref();
    else send();
  };

  const handleSeal = async (req: IncomingMessage, res: ServerResponse, idText: string) => {
    requests++;
    if (options.logRequests) {
      res.once('close', () => {
        requestLog.push({ orderId: idText, status: res.headersSent ? res.statusCode : 'reset' });
      });
    }
    if (req.headers['x-dc-devkey'] !== options.apiKey) {
      return answer(res, 403, 'access_denied|access_denied_invalid_key', 'Invalid API key.');
    }
    const body = await readBody(req);
    let recipientEmail: string | undefined;
    let badBody: string | undefined;
    if (body.trim() !== '') {
      try {
        const parsed = JSON.parse(body) as { recipient_email?: unknown };
        if (parsed.recipient_email !== undefined) {
          if (
            typeof parsed.recipient_email !== 'string' ||
            recipientProblem(parsed.recipient_email)
          ) {
            badBody = 'invalid_recipient_email';
          } else {
            recipientEmail = parsed.recipient_email;
          }
        }
      } catch {
        return answer(res, 400, 'bad_request_format', 'Malformed JSON in request body.');
      }
    }
    const now = Date.now();
    if (now < stormUntil) return tooMany(res);
    if (recipientEmail !== undefined && recipient.windows.length) {
      if (!recipient.tryAdmit(now)) return tooMany(res);
    }
    if (!all.tryAdmit(now)) return tooMany(res);

    const roll = random();
    let edge = options.resetRate ?? 0;
    if (roll < edge) {
      byStatus.reset = (byStatus.reset ?? 0) + 1;
      req.socket.destroy();
      return;
    }
    edge += options.failRate ?? 0;
    if (roll < edge) {
      return random() < 0.5
        ? answer(res, 500, 'internal_error', 'An internal error occurred.')
        : answer(res, 503, 'service_unavailable', 'Service temporarily unavailable.');
    }
    if (badBody)
      return answer(res, 400, badBody, 'recipient_email must be one valid email address.');
    const orderId = /^\d+$/.test(idText) ? Number(idText) : Number.NaN;
    if (!Number.isSafeInteger(orderId) || !orders.has(orderId)) {
      return answer(res, 404, 'not_found|order', 'Order not found.');
    }
    const delivery: Delivery = { orderId, recipient: recipientEmail ?? null, at: now };
    deliveries.push(delivery);
    if (options.recordFile) appendFileSync(options.recordFile, `${JSON.stringify(delivery)}\n`);
    edge += options.slowRate ?? 0;
    if (roll < edge) {
      await new Promise((resolve) => setTimeout(resolve, options.slowMs ?? 60_000).unref());
    }
    return answer(res, 204);
  };

  const tooMany = (res: ServerResponse) =>
    answer(res, 429, 'request_limit_exceeded', 'Service unavailable, please limit request volume');

  const stats = (): SimulatorStats => ({
    requests,
    inFlight,
    peakInFlight,
    byStatus: { ...byStatus },
    deliveries: deliveries.length,
    peaks: { all: all.peak(), recipient: recipient.peak() },
  });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = req.method === 'POST' ? ROUTE.exec(url.pathname) : null;
    if (route) {
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      res.once('close', () => {
        inFlight--;
      });
      handleSeal(req, res, route[1] ?? '').catch(() => res.destroy());
      return;
    }
    if (url.pathname === '/_sim/deliveries' && req.method === 'GET') {
      return json(res, deliveries);
    }
    if (url.pathname === '/_sim/stats' && req.method === 'GET') return json(res, stats());
    if (url.pathname === '/_sim/reset' && req.method === 'POST') {
      simulator.reset();
      return json(res, { ok: true });
    }
    if (url.pathname === '/_sim/storm' && req.method === 'POST') {
      simulator.storm(Number(url.searchParams.get('ms') ?? 10_000));
      return json(res, { ok: true });
    }
    answer(res, 404, 'not_found|route', 'Route not found.');
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const host = listen.host && listen.host !== '0.0.0.0' ? listen.host : '127.0.0.1';

  const simulator: Simulator = {
    baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}/services/v2`,
    port,
    deliveries: () => deliveries,
    requests: () => requestLog,
    stats,
    storm(ms) {
      stormUntil = Date.now() + ms;
    },
    configure(changes) {
      options = { ...options, ...changes };
      if (changes.orders) orders = changes.orders;
    },
    reset() {
      deliveries = [];
      requestLog = [];
      byStatus = {};
      requests = 0;
      peakInFlight = inFlight;
      stormUntil = 0;
      all = new RollingCounter(all.windows);
      recipient = new RollingCounter(recipient.windows);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return simulator;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}
