import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createWebhookSender,
  withSlackText,
  type WebhookAttempt,
  type WebhookSender,
} from '../../../src/notify/index.js';

/** A real HTTP receiver that answers each request with the next scripted status. */
interface Receiver {
  readonly url: string;
  readonly received: { key: string | undefined; body: unknown; type: string | undefined }[];
  close(): Promise<void>;
}

async function startReceiver(
  answer: (n: number) => { status: number; headers?: Record<string, string> } | 'hang',
): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      received.push({
        key: req.headers['idempotency-key'] as string | undefined,
        type: req.headers['content-type'],
        body: JSON.parse(text),
      });
      const a = answer(received.length);
      if (a === 'hang') return;
      res.writeHead(a.status, a.headers ?? {});
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const fast = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 200 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
function track<T extends Receiver | WebhookSender>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

describe('the webhook sender against a real HTTP receiver', () => {
  it('retries a receiver that is down, with the same Idempotency-Key, until it answers 2xx', async () => {
    const rx = track(await startReceiver((n) => ({ status: n < 3 ? 503 : 200 })));
    const sender = track(createWebhookSender({ policy: fast }));
    const attempts: WebhookAttempt[] = [];
    const body = withSlackText(
      { workflow: 'eod', run: 'eod@2026-12-04', event: 'failure' },
      'eod failed',
    );
    const outcome = await sender.deliver(
      { url: rx.url, body, idempotencyKey: 'eod@2026-12-04/failure' },
      (a) => void attempts.push(a),
    );
    expect(outcome).toEqual({ ok: true, attempts: 3, status: 200 });
    expect(rx.received.map((r) => r.key)).toEqual(Array(3).fill('eod@2026-12-04/failure'));
    expect(rx.received[0]).toMatchObject({ type: 'application/json', body });
    expect(attempts.map((a) => [a.attempt, a.ok])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(attempts[0]).toMatchObject({
      status: 503,
      error: expect.stringContaining('503'),
      retryInMs: 20,
    });
    expect(attempts[1]).toMatchObject({ retryInMs: 40 });
  });

  it('does not retry a request the receiver rejects (4xx): the outcome says so', async () => {
    const rx = track(await startReceiver(() => ({ status: 404 })));
    const sender = track(createWebhookSender({ policy: fast }));
    const outcome = await sender.deliver({ url: rx.url, body: {}, idempotencyKey: 'k' });
    expect(outcome).toMatchObject({ ok: false, attempts: 1, reason: 'rejected' });
    expect(rx.received).toHaveLength(1);
  });

  it('honours Retry-After on 429, and gives up after maxAttempts naming the last error', async () => {
    const rx = track(await startReceiver(() => ({ status: 429, headers: { 'retry-after': '0' } })));
    const sender = track(createWebhookSender({ policy: fast }));
    const attempts: WebhookAttempt[] = [];
    const outcome = await sender.deliver({ url: rx.url, body: {}, idempotencyKey: 'k' }, (a) => {
      attempts.push(a);
    });
    expect(outcome).toMatchObject({ ok: false, attempts: 4, reason: 'exhausted' });
    expect(attempts.slice(0, 3).map((a) => (a.ok ? -1 : a.retryInMs))).toEqual([0, 0, 0]);
    expect(attempts[3]).not.toHaveProperty('retryInMs');
  });

  it('a refused connection and a receiver that hangs are failed attempts, not a stuck sender', async () => {
    const rx = await startReceiver(() => ({ status: 200 }));
    const deadUrl = rx.url;
    await rx.close();
    const sender = track(
      createWebhookSender({ policy: { ...fast, maxAttempts: 2 }, timeoutMs: 300 }),
    );
    const refused = await sender.deliver({ url: deadUrl, body: {}, idempotencyKey: 'k' });
    expect(refused).toMatchObject({
      ok: false,
      attempts: 2,
      reason: 'exhausted',
      error: 'ECONNREFUSED',
    });

    const hanging = track(await startReceiver(() => 'hang'));
    const timedOut = await sender.deliver({ url: hanging.url, body: {}, idempotencyKey: 'k' });
    expect(timedOut).toMatchObject({
      ok: false,
      reason: 'exhausted',
      error: 'no answer before the timeout',
    });
  });

  it('close() ends a delivery waiting for its next attempt at once, as closed', async () => {
    const rx = track(await startReceiver(() => ({ status: 503 })));
    const sender = createWebhookSender({
      policy: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((r) => (firstAttempt = r));
    const pending = sender.deliver({ url: rx.url, body: {}, idempotencyKey: 'k' }, () =>
      firstAttempt(),
    );
    await attempted;
    const started = Date.now();
    await sender.close();
    expect(await pending).toMatchObject({ ok: false, reason: 'closed', attempts: 1 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(rx.received).toHaveLength(1);
  });
});
