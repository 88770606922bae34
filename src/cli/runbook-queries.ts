import type { ApiClient } from '../api/index.js';
import {
  ErrorCodes,
  SchedulerError,
  hasCode,
  type RunbookCondition,
  type RunbookOp,
  type RunbookQuery,
} from '../events/index.js';
import { fill, type ConditionFacts } from '../policy/runbook/index.js';
import { table, time } from './api-cli.js';
import { cancelListing, clearListing } from './cancel-commands.js';

type Vars = Readonly<Record<string, string>>;

async function nodeOf(api: ApiClient, id: string) {
  const node = (await api.nodes()).find((n) => n.id === id);
  if (!node) throw new SchedulerError(ErrorCodes.NotFound, `no node ${id}`);
  return node;
}

/**
 * Run a `show` query through the API (the CLI's own reads, with the runner's role) and put its
 * answer in words, as the matching CLI command would.
 */
export async function runQuery(api: ApiClient, q: RunbookQuery, vars: Vars): Promise<string> {
  const of = fill(q.of ?? '', vars);
  switch (q.query) {
    case 'job': {
      const { job, progress } = await api.status(of);
      return `job ${job.id} ${job.name} (${job.user}): ${job.state}, chunks ${progress.done}/${progress.total}, children ${job.children.length}`;
    }
    case 'node': {
      const n = await nodeOf(api, of);
      return `node ${n.id}: ${n.state}, ${n.workers} worker(s), cpus ${n.used.cpus}/${n.cpus}, mem MB ${n.used.memMb}/${n.memMb}, heartbeat ${time(n.lastHeartbeatAt)}`;
    }
    case 'nodes': {
      const rows = (await api.nodes()).map((n) => [
        n.id,
        n.state,
        n.workers,
        `${n.used.cpus}/${n.cpus}`,
      ]);
      return table([['node', 'state', 'workers', 'cpus'], ...rows]);
    }
    case 'cancel-plan':
      return cancelListing(await api.cancelPlan(of));
    case 'clear-plan':
      return clearListing(await api.clearPlan(of));
    case 'explain': {
      const e = await api.explain(of);
      const pending = (e.pending ?? []).map((p) => `  pending ${p.code}: ${p.message}`);
      const failure = e.failure
        ? [`  failed: ${e.failure.cause} on ${e.failure.node}: ${e.failure.meaning}`]
        : [];
      return [`job ${e.id}: ${e.state}`, ...pending, ...failure].join('\n');
    }
    default: {
      const _exhaustive: never = q.query;
      return _exhaustive;
    }
  }
}

/** Read what a condition needs (a node or job that does not exist is simply absent). */
export async function readFacts(
  api: ApiClient,
  c: RunbookCondition,
  vars: Vars,
): Promise<ConditionFacts> {
  if (c.node !== undefined) {
    const n = (await api.nodes()).find((x) => x.id === fill(c.node ?? '', vars));
    return n ? { node: { state: n.state, workers: n.workers, usedCpus: n.used.cpus } } : {};
  }
  const id = fill(c.job ?? '', vars);
  try {
    const { job } = await api.status(id);
    const clearBlockers = c.clearable
      ? (await api.clearPlan(id)).blockers.map((b) => b.why)
      : undefined;
    return { job: { state: job.state, ...(clearBlockers && { clearBlockers }) } };
  } catch (err) {
    if (hasCode(err, ErrorCodes.NotFound)) return {};
    throw err;
  }
}

/**
 * Perform an `act` step's operation through the API, as the CLI command of the same name does,
 * with a request id derived from the run and step: a resumed run that repeats an action whose
 * answer was lost has it applied once. Answers what came of it, in words.
 */
export async function performAct(
  api: ApiClient,
  op: RunbookOp,
  target: string,
  o: { reason?: string; by: string; requestId: string },
): Promise<string> {
  const x = {
    by: o.by,
    requestId: o.requestId,
    ...(o.reason !== undefined && { reason: o.reason }),
  };
  switch (op) {
    case 'node.drain':
    case 'node.undrain':
    case 'node.cordon':
    case 'node.uncordon': {
      const out = await api.node(op.slice(5) as 'drain', target, x);
      return `node ${out.node}: ${out.state}`;
    }
    case 'cancel': {
      const out = await api.cancel(target, { ...x, wait: false });
      return `job ${target}: ${out.state} (${out.plan.jobs.length} jobs, ${out.plan.processes.length} processes to stop)`;
    }
    case 'clear': {
      const out = await api.clear(target, { by: o.by, requestId: o.requestId });
      return `job ${target}: results cleared (${out.plan.jobs.length} jobs, ${out.plan.chunks.length} chunks)`;
    }
    default: {
      const _exhaustive: never = op;
      return _exhaustive;
    }
  }
}
