import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/certcentral/client.js';
import type { OrderId } from '../../src/order-id.js';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';

const KEY = 'client-test-key-0001';
const id = (n: number) => n as OrderId;

describe('CertCentral client against the simulator', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ apiKey: KEY, orders: { has: (n) => n < 1000, text: '1-999' } });
  });
  afterAll(() => sim.close());

  it('emails a seal to a recipient and to the key owner', async () => {
    const client = createClient({ baseUrl: sim.baseUrl, apiKey: KEY });
    expect(await client.emailSeal(id(5), 'a@example.com')).toEqual({ kind: 'sent', status: 204 });
    expect(await client.emailSeal(id(6), undefined)).toEqual({ kind: 'sent', status: 204 });
    expect(sim.deliveries().map((d) => [d.orderId, d.recipient])).toEqual([
      [5, 'a@example.com'],
      [6, null],
    ]);
    client.close();
  });

  it('reports a refused key as denied and an unknown order as permanent', async () => {
    const bad = createClient({ baseUrl: sim.baseUrl, apiKey: 'wrong-key' });
    expect(await bad.emailSeal(id(5), undefined)).toMatchObject({
      kind: 'denied',
      status: 403,
      error: { code: 'access_denied|access_denied_invalid_key' },
    });
    bad.close();
    const good = createClient({ baseUrl: sim.baseUrl, apiKey: KEY });
    expect(await good.emailSeal(id(5000), undefined)).toMatchObject({
      kind: 'permanent',
      status: 404,
      error: { code: 'not_found|order' },
    });
    good.close();
  });

  it('stops on a wrong base URL instead of failing rows', async () => {
    const client = createClient({ baseUrl: sim.baseUrl.replace('/v2', '/v1'), apiKey: KEY });
    expect((await client.emailSeal(id(5), undefined)).kind).toBe('denied');
    client.close();
  });
});

describe('CertCentral client on the wire', () => {
  let server: Server;
  let baseUrl: string;
  const seen: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  let mode: 'ok' | 'reset' | 'hang' = 'ok';

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body });
        if (mode === 'reset') req.socket.destroy();
        else if (mode === 'ok') res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/v2`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends the key header, and a JSON body only when there is a recipient', async () => {
    mode = 'ok';
    const client = createClient({ baseUrl, apiKey: KEY });
    await client.emailSeal(id(77), 'r@example.com');
    await client.emailSeal(id(78), undefined);
    client.close();
    const [withRecipient, without] = seen.slice(-2);
    expect(withRecipient?.url).toBe('/services/v2/order/certificate/77/site-seal/email-seal');
    expect(withRecipient?.headers['x-dc-devkey']).toBe(KEY);
    expect(withRecipient?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(withRecipient?.body ?? '')).toEqual({ recipient_email: 'r@example.com' });
    expect(without?.body).toBe('');
  });

  it('reuses connections', async () => {
    mode = 'ok';
    const client = createClient({ baseUrl, apiKey: KEY });
    const sockets = new Set<unknown>();
    const onConnection = (s: unknown) => sockets.add(s);
    server.on('connection', onConnection);
    for (let i = 1; i <= 5; i++) await client.emailSeal(id(i), undefined);
    server.off('connection', onConnection);
    client.close();
    expect(sockets.size).toBe(1);
  });

  it('turns resets and timeouts into transient outcomes that carry no headers', async () => {
    const client = createClient({ baseUrl, apiKey: KEY, timeoutMs: 300 });
    mode = 'reset';
    const reset = await client.emailSeal(id(1), undefined);
    expect(reset).toMatchObject({
      kind: 'transient',
      status: undefined,
      error: { code: 'econnreset' },
    });
    mode = 'hang';
    const timeout = await client.emailSeal(id(2), undefined);
    expect(timeout).toMatchObject({ kind: 'transient', error: { code: 'etimedout' } });
    expect(JSON.stringify([reset, timeout])).not.toContain(KEY);
    client.close();
  });

  it('refuses to put anything but a positive integer in the path', async () => {
    const client = createClient({ baseUrl, apiKey: KEY });
    await expect(client.emailSeal(-1 as OrderId, undefined)).rejects.toThrow(TypeError);
    await expect(client.emailSeal(Number.NaN as OrderId, undefined)).rejects.toThrow(TypeError);
    client.close();
  });
});
