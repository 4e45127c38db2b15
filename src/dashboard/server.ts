import type { Readable } from 'node:stream';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { LANES } from '../queue/lanes.js';
import type { Runtime } from '../runtime.js';
import { isAuthorized } from './auth.js';
import {
  batchProblems,
  batchReport,
  createBatch,
  getBatch,
  listBatches,
  retryBatch,
} from './handlers/batches.js';
import { errorResult, type HandlerResult } from './http.js';
import { createMetrics } from './metrics.js';
import { APP_CSS, APP_JS, batchPage, overviewPage } from './pages.js';

export interface DashboardOptions {
  /** Bearer token, or basic-auth password, required on every route but /healthz. */
  readonly token: string;
  /** Refuse every write, bull-board's included. @defaultValue false */
  readonly readOnly: boolean;
  /** The largest CSV `POST /api/batches` takes, in bytes. @defaultValue 1 GiB */
  readonly maxUploadBytes?: number;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The dashboard: batch pages, the JSON API, bull-board under /queues, /metrics, /healthz. */
export async function buildDashboard(
  runtime: Runtime,
  options: DashboardOptions,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  const send = (reply: FastifyReply, result: HandlerResult) => {
    reply.code(result.status);
    for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
    return reply.send(result.body);
  };

  // Auth, read-only mode and a cross-site check come first, for every route bull-board's included.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz') return;
    if (!isAuthorized(request.headers.authorization, options.token)) {
      reply.header('www-authenticate', 'Basic realm="sealmail", charset="UTF-8"');
      return send(reply, errorResult(401, 'unauthorized', 'a valid token is required'));
    }
    if (!SAFE_METHODS.has(request.method)) {
      if (options.readOnly)
        return send(reply, errorResult(403, 'read_only', 'the dashboard is read-only'));
      if (isCrossSite(request))
        return send(reply, errorResult(403, 'cross_site', 'cross-site request refused'));
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
  app.setErrorHandler((error, request, reply) => {
    runtime.logger.error(
      { err: (error as Error).message, url: request.url },
      'dashboard request failed',
    );
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    return send(
      reply,
      errorResult(
        status >= 400 ? status : 500,
        'internal_error',
        status < 500 ? (error as Error).message : 'internal error',
      ),
    );
  });
  app.setNotFoundHandler((_request, reply) =>
    send(reply, errorResult(404, 'not_found|route', 'no such route')),
  );

  // CSV bodies are streamed to the producer, never buffered whole.
  app.addContentTypeParser(
    ['text/csv', 'text/plain', 'application/octet-stream'],
    (_req, payload, done) => done(null, payload),
  );
  const maxUploadBytes = options.maxUploadBytes ?? 1024 * 1024 * 1024;
  await app.register(multipart, { limits: { fileSize: maxUploadBytes, files: 1 } });

  app.get('/healthz', async (_request, reply) => {
    try {
      await runtime.redis.ping();
      return reply.send({ status: 'ok' });
    } catch {
      return send(reply, errorResult(503, 'redis_unavailable', 'Redis does not answer'));
    }
  });

  const metrics = createMetrics(runtime);
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.contentType);
    return reply.send(await metrics.metrics());
  });

  app.get('/api/batches', async (request, reply) => {
    const limit = Number((request.query as { limit?: string }).limit ?? 100);
    return send(reply, await listBatches(runtime, Number.isFinite(limit) ? limit : 100));
  });
  app.get<{ Params: { id: string } }>('/api/batches/:id', async (request, reply) =>
    send(reply, await getBatch(runtime, request.params.id)),
  );
  app.get<{ Params: { id: string }; Querystring: { after?: string; limit?: string } }>(
    '/api/batches/:id/problems',
    async (request, reply) =>
      send(reply, await batchProblems(runtime, request.params.id, request.query)),
  );
  app.get<{ Params: { id: string } }>('/api/batches/:id/report.csv', async (request, reply) =>
    send(reply, await batchReport(runtime, request.params.id)),
  );
  app.post<{ Params: { id: string } }>('/api/batches/:id/retry', async (request, reply) =>
    send(reply, await retryBatch(runtime, request.params.id)),
  );
  app.post('/api/batches', async (request, reply) => {
    const query = request.query as { batch?: string; source?: string; resend?: string };
    const upload = request.isMultipart() ? await request.file() : undefined;
    if (request.isMultipart() && !upload) {
      return send(reply, errorResult(400, 'missing_file', 'send the CSV in a "file" field'));
    }
    const csv = upload ? upload.file : (request.body as Readable | undefined);
    if (!csv || typeof (csv as Readable).pipe !== 'function') {
      return send(
        reply,
        errorResult(
          415,
          'unsupported_media_type',
          'send the CSV as text/csv or multipart/form-data',
        ),
      );
    }
    return send(
      reply,
      await createBatch(runtime, {
        csv,
        maxBytes: maxUploadBytes,
        batchId: query.batch,
        source: query.source ?? upload?.filename,
        resend: query.resend === 'true',
      }),
    );
  });

  app.get('/', async (_request, reply) => reply.redirect('/batches'));
  app.get('/batches', async (_request, reply) => html(reply, overviewPage(options.readOnly)));
  app.get<{ Params: { id: string } }>('/batches/:id', async (request, reply) =>
    html(reply, batchPage(request.params.id, options.readOnly)),
  );
  app.get('/assets/app.js', async (_request, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').send(APP_JS),
  );
  app.get('/assets/app.css', async (_request, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').send(APP_CSS),
  );

  const board = new FastifyAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: LANES.map(
      (lane) => new BullMQAdapter(runtime.queues[lane], { readOnlyMode: options.readOnly }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'sealmail lanes' } },
  });
  await app.register(board.registerPlugin(), { prefix: '/queues' });
  return app;
}

function html(reply: FastifyReply, body: string) {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    )
    .send(body);
}

/** A browser's cross-site write (basic-auth credentials ride along on those). */
function isCrossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return true;
  const origin = request.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') {
    try {
      return new URL(origin).host !== request.headers.host;
    } catch {
      return true;
    }
  }
  return false;
}
