import type { NatsConnection } from '@nats-io/transport-node';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createApiClient, type ApiClient } from '../api/index.js';
import {
  ErrorCodes,
  SchedulerError,
  createJetStreamEventLog,
  hasCode,
  type EventLog,
} from '../events/index.js';
import {
  mergeRegistries,
  processRegistry,
  sendMetrics,
  serviceRegistry,
} from '../metrics/index.js';
import { createEventFetcher } from '../projections/index.js';
import { registerFarmMetrics } from './farm-metrics.js';
import { startFeed, type Feed } from './feed.jetstream.js';
import { route, sendError, sendJson, type RouteContext } from './routes.js';
import { startSse } from './sse.service.js';

export interface DashboardOptions {
  readonly nc: NatsConnection;
  readonly logger: Logger;
  /** TCP port (0: any free one). Default `DROVER_HTTP_PORT` is the caller's business. */
  readonly port: number;
  /** Interface to bind; default 127.0.0.1 (the dashboard acts with the API client's rights). */
  readonly host?: string;
  /** The client actions go through (default: the trusted surface on `nc`). */
  readonly client?: ApiClient;
  /** Who the actions are recorded as (`by`) on the trusted surface; default `dashboard`. */
  readonly by?: string;
  readonly eventLog?: EventLog;
  readonly clock?: () => number;
  /** Minimum time between two pushes to the pages (ms); default 250. */
  readonly coalesceMs?: number;
  /**
   * The other registries of this process, shown on the dashboard's `/metrics` beside the farm's
   * gauges (`drover up`: the scheduler's, the API's, the agents', the process's). Without it,
   * the page has the farm's gauges and the process metrics.
   */
  readonly registries?: readonly Registry[];
  /**
   * How long a finished job stays in the feed's model after it ended (default: every job stays;
   * `drover dashboard`/`drover up` pass `DROVER_READ_RETENTION`, default 24 h, as the API's).
   * A job let go of is read back from the log when its page is asked for.
   */
  readonly readRetentionMs?: number;
}

/** A running dashboard: its URL, the feed it reads, `stop()`. */
export interface Dashboard {
  readonly url: string;
  readonly port: number;
  readonly feed: Feed;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The browser files: next to this module in src/, or src/dashboard/public from dist/. */
function publicDir(): string {
  const here = fileURLToPath(new URL('./public/', import.meta.url));
  return existsSync(here)
    ? here
    : fileURLToPath(new URL('../../src/dashboard/public/', import.meta.url));
}

function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  return {
    'uplot.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
    'uplot.css': require.resolve('uplot/dist/uPlot.min.css'),
  };
}

async function sendFile(res: ServerResponse, path: string): Promise<void> {
  const body = await readFile(path).catch(() => undefined);
  if (!body) throw new SchedulerError(ErrorCodes.NotFound, 'no such file');
  res.writeHead(200, {
    'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
    'Cache-Control': 'no-cache',
  });
  res.end(body);
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

/**
 * Start the dashboard: one tail of the log (the feed), an HTTP server on `host:port` serving
 * the page, its JSON routes and `GET /events` (server-sent events, coalesced). It never writes
 * to the log: actions go through the API client, with that client's permissions. On loopback,
 * requests must name a loopback Host (no DNS rebinding) and actions must carry the
 * `X-Drover-Action` header (a cross-site form cannot set it).
 */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const logger = opts.logger.child({ component: 'dashboard' });
  const clock = opts.clock ?? Date.now;
  const owned = opts.eventLog ? undefined : await createJetStreamEventLog(opts.nc);
  const eventLog = opts.eventLog ?? (owned as EventLog);
  const feed = await startFeed(opts.nc, eventLog, logger, clock, {
    ...(opts.readRetentionMs !== undefined && { retainMs: opts.readRetentionMs }),
  });
  // Jobs the feed let go of are read back from the log, the archive included (as the API does).
  const history = opts.eventLog
    ? undefined
    : await createJetStreamEventLog(opts.nc, { readArchive: true });
  const sse = startSse({ feed, clock, ...(opts.coalesceMs && { coalesceMs: opts.coalesceMs }) });
  const ctx: RouteContext = {
    feed,
    client: opts.client ?? createApiClient(opts.nc),
    fetcher: await createEventFetcher(opts.nc),
    history: opts.eventLog ?? (history as EventLog),
    clock,
    by: opts.by ?? 'dashboard',
  };
  const farm = serviceRegistry();
  registerFarmMetrics(farm, () => feed.model);
  const metrics = mergeRegistries([farm, ...(opts.registries ?? [processRegistry()])]);
  const host = opts.host ?? '127.0.0.1';
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const dir = publicDir();
  const vendor = vendorFiles();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (loopback && !LOOPBACK_HOST.test(req.headers.host ?? '')) {
      const message = 'the dashboard answers only on a loopback Host';
      return sendJson(res, 421, { error: { code: ErrorCodes.Forbidden, message } });
    }
    if (req.method === 'POST' && req.headers['x-drover-action'] !== '1') {
      throw new SchedulerError(ErrorCodes.Forbidden, 'actions need the X-Drover-Action header');
    }
    const p = url.pathname;
    if (p === '/events') return sse.attach(req, res);
    if (p === '/metrics' && req.method === 'GET') return sendMetrics(res, metrics);
    if (await route(ctx, req, res, url)) return;
    if (p === '/' || p === '/index.html') return sendFile(res, join(dir, 'index.html'));
    // Browsers ask for /favicon.ico by themselves: the same icon, no 404 in any console.
    if (p === '/favicon.ico') return sendFile(res, join(dir, 'favicon.svg'));
    const file = /^\/static\/([a-z0-9-]+\.(?:js|css|png|svg))$/.exec(p)?.[1];
    if (file) return sendFile(res, join(dir, file));
    const vendored = /^\/vendor\/(uplot\.(?:js|css))$/.exec(p)?.[1];
    if (vendored && vendor[vendored]) return sendFile(res, vendor[vendored]);
    throw new SchedulerError(ErrorCodes.NotFound, `no page ${p}`);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // The dashboard's own refusals are answers, not failures worth a warning.
      if (!hasCode(err, ErrorCodes.BadInput, ErrorCodes.NotFound, ErrorCodes.Forbidden))
        logger.warn({ err, url: req.url }, 'dashboard request failed');
      if (!res.headersSent) sendError(res, err);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, seq: feed.model.seq }, 'dashboard serving');
  return {
    url,
    port,
    feed,
    async stop() {
      sse.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await feed.stop();
      await history?.close();
      await owned?.close();
    },
  };
}
