import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Changes, Feed } from './feed.jetstream.js';
import { overview } from './views.js';

/** The server-sent-event side of the dashboard: one coalesced push for every open page. */
export interface SseHub {
  /** Serve `GET /events` on this request (the response stays open). */
  attach(req: IncomingMessage, res: ServerResponse): void;
  readonly clients: number;
  /** Close every stream (pages reconnect by themselves to the next server). */
  close(): void;
}

export interface SseOptions {
  readonly feed: Feed;
  readonly clock: () => number;
  /** Minimum time between two pushes (ms): updates in between are coalesced. */
  readonly coalesceMs?: number;
  /** A push is also sent this often when only heartbeats changed (ms). */
  readonly heartbeatPushMs?: number;
}

/** Reconnect delay the browser is told to use (ms). */
const RETRY_MS = 1_000;
const KEEPALIVE_MS = 15_000;

function frame(event: string, seq: number, data: unknown): string {
  return `id: ${seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Start the hub. Every `coalesceMs` it drains the feed's changes; when something changed it
 * builds the overview ONCE and writes one `tick` frame to every page: `{ overview, jobs }`
 * where `jobs` is the changed job ids (null: too many to list). Each frame's SSE `id` is the
 * log sequence folded so far. A page that (re)connects gets a full `snapshot` frame first; its
 * `Last-Event-ID` tells whether it missed anything (`resync`: refetch what it shows).
 */
export function startSse(opts: SseOptions): SseHub {
  const { feed, clock } = opts;
  const clients = new Set<ServerResponse>();
  let lastPush = 0;
  const push = (changes: Changes) => {
    if (clients.size === 0) return;
    const view = overview(feed, clock());
    const text = frame('tick', view.seq, {
      overview: view,
      jobs: changes.jobs,
      events: changes.events,
    });
    for (const res of clients) res.write(text);
    lastPush = clock();
  };
  const timer = setInterval(() => {
    const heartbeatDue = clock() - lastPush >= (opts.heartbeatPushMs ?? 2_000);
    const due = feed.peek();
    if (!due.events && !(heartbeatDue && due.heartbeats)) return;
    push(feed.drain());
  }, opts.coalesceMs ?? 250);
  timer.unref();
  const keepalive = setInterval(() => {
    for (const res of clients) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();
  return {
    attach(req, res) {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      const lastId = Number(req.headers['last-event-id'] ?? NaN);
      const view = overview(feed, clock());
      const resync = !(Number.isInteger(lastId) && lastId === view.seq);
      res.write(`retry: ${RETRY_MS}\n\n`);
      res.write(
        frame('snapshot', view.seq, { overview: view, resync, lastEventId: lastId || null }),
      );
      clients.add(res);
      req.on('close', () => clients.delete(res));
    },
    get clients() {
      return clients.size;
    },
    close() {
      clearInterval(timer);
      clearInterval(keepalive);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
