import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface MetricsServerOptions {
  readonly registry: Registry;
  /** TCP port (0: any free one). */
  readonly port: number;
  /**
   * Interface to bind; default all of them: Prometheus scrapes from another machine, and the
   * page is read-only (counts by user, pool, node and cause; never a job id).
   */
  readonly host?: string;
  readonly logger: Logger;
}

/**
 * Write `registry` in the Prometheus text format (prom-client renders it; Drover never writes
 * the format by hand). Shared by `--metrics-port` and the dashboard's `/metrics`.
 */
export async function sendMetrics(res: ServerResponse, registry: Registry): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}

/**
 * Serve `GET /metrics` for one service (`drover scheduler|agent|api --metrics-port N`). Its own
 * small HTTP server, so a service that has no dashboard can still be scraped; anything else is
 * a 404.
 */
export async function serveMetrics(opts: MetricsServerOptions): Promise<MetricsServer> {
  const logger = opts.logger.child({ component: 'metrics' });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('only GET /metrics here\n');
      return;
    }
    sendMetrics(res, opts.registry).catch((err: unknown) => {
      logger.warn({ err }, 'metrics not rendered');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const host = opts.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`;
  logger.info({ url }, 'metrics serving');
  return {
    url,
    port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
