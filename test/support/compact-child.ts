import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { compactLog as CompactLog } from '../../src/events/index.js';

/**
 * `compactLog` in a process of its own that kills itself (SIGKILL, no cleanup) once the server
 * has answered `killAt` purge requests: a compaction crashed mid-purge, at a chosen call. It
 * counts the JetStream API requests on the connection, so it needs no hook in the compactor
 * (the same child crashes an older compactor at the same point: `src`, the path of another
 * tree's `src/events/index.ts`). Options as JSON in COMPACT_CHILD: `{ url, now, killAt, src? }`.
 */
const { url, now, killAt, src } = JSON.parse(process.env.COMPACT_CHILD ?? '{}') as {
  url: string;
  now: number;
  killAt: number;
  src?: string;
};
const { compactLog } = (await import(src ?? '../../src/events/index.js')) as {
  compactLog: typeof CompactLog;
};
const nc = await connect({ servers: url });
const request = nc.request.bind(nc);
let purges = 0;
(nc as { request: NatsConnection['request'] }).request = async (subject, payload, opts) => {
  const reply = await request(subject, payload, opts);
  if (subject.startsWith('$JS.API.STREAM.PURGE.') && ++purges >= killAt)
    process.kill(process.pid, 'SIGKILL');
  return reply;
};
await compactLog(nc, { olderThanMs: 0, now });
await nc.close();
