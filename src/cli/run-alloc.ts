import type { NatsConnection } from '@nats-io/transport-node';
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { ErrorCodes, FrameKinds, SchedulerError } from '../events/index.js';
import type { ApiClient, SessionRow } from '../api/index.js';
import { untilHeld } from './alloc-command.js';
import { LabelledWriter } from './labelled-writer.js';
import { SessionClient, shellExitCode, type SessionEnd } from './session-attach.js';

/** One node's run of `drover run --alloc` on several nodes, as `--json` reports it. */
export interface NodeRun extends SessionEnd {
  node: string;
  sessionId: string;
}

/**
 * The nodes `drover run --alloc ID [--node N]` runs on: the one named, else every node the
 * allocation holds (waiting, as `salloc` would, until it holds them all).
 */
export async function allocNodes(api: ApiClient, alloc: string, node?: string): Promise<string[]> {
  let { session } = await api.call<{ session: SessionRow }>('session.get', { id: alloc });
  if (session.kind !== 'alloc')
    throw new SchedulerError(ErrorCodes.NotFound, `alloc: ${alloc} is a run, not an allocation`);
  if (session.state === 'opened' || session.nodes.length < session.nodeCount) {
    process.stderr.write(`drover run: waiting for allocation ${alloc} to hold its nodes\n`);
    session = await untilHeld(api, alloc);
  }
  if (session.state !== 'running')
    throw new SchedulerError(ErrorCodes.Refused, `allocation ${alloc} is ${session.state}`);
  return node !== undefined ? [node] : session.nodes;
}

/**
 * Run one command on several nodes of an allocation at once: one session per node, each
 * line of output after `[node] ` (stderr's on stderr), stdin not attached (there is no one
 * node to give it to). Ctrl-C and other signals go to every node's process group. Returns each
 * node's end, in node order.
 */
export async function runOnNodes(
  api: ApiClient,
  nc: NatsConnection,
  nodes: readonly string[],
  open: (node: string) => { id: string; body: Record<string, unknown> },
  out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<NodeRun[]> {
  const runs = nodes.map((node) => {
    const { id, body } = open(node);
    const io = {
      stdin: Readable.from([]),
      stdout: new LabelledWriter(out.stdout, `[${node}] `),
      stderr: new LabelledWriter(out.stderr, `[${node}] `),
    };
    const client = new SessionClient(nc, api, id, String(body.user), io);
    return { node, id, body, io, client };
  });
  const forward = (sig: NodeJS.Signals) => () => {
    for (const r of runs) r.client.send(FrameKinds.Signal, { signal: sig });
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    await Promise.all(runs.map((r) => api.call('session.open', r.body)));
    return await Promise.all(
      runs.map(async (r): Promise<NodeRun> => {
        const end = await r.client.ended;
        await flush(r.io.stdout);
        await flush(r.io.stderr);
        return { ...end, node: r.node, sessionId: r.id };
      }),
    );
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    for (const r of runs) r.client.close();
  }
}

async function flush(w: Writable): Promise<void> {
  const finished = once(w, 'finish');
  w.end();
  await finished;
}

/** The exit code of a run on several nodes: the first node's (in order) that failed, else 0. */
export function combinedExitCode(runs: readonly SessionEnd[]): number {
  for (const r of runs) {
    const code = shellExitCode(r);
    if (code !== 0) return code;
  }
  return 0;
}
