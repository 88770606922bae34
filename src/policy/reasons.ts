import { EPS, type Farm, fitsIn, labelsMatch } from './farm.js';
import type { NodeState, PendingReason, ResourceVector, Task } from './types.js';

/** `2 cpus, 4096 MB, 0 gpus`: how reasons print a resource vector. Pure. */
export function formatResources(v: ResourceVector): string {
  const n = (x: number) => String(Math.round(x * 1000) / 1000);
  return `${n(v.cpus)} cpus, ${n(v.memMb)} MB, ${n(v.gpus)} gpus`;
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function listed(ids: readonly string[], max = 5): string {
  const head = ids.slice(0, max).join(', ');
  return ids.length > max ? `${head} and ${ids.length - max} more` : head;
}

/** How far `q` is from fitting in `room`: max over resources of the shortfall / capacity. */
function shortfall(q: ResourceVector, room: ResourceVector, cap: ResourceVector): number {
  const s = (want: number, have: number, c: number) =>
    want - have <= EPS ? 0 : c > 0 ? (want - have) / c : Infinity;
  return Math.max(
    s(q.cpus, room.cpus, cap.cpus),
    s(q.memMb, room.memMb, cap.memMb),
    s(q.gpus, room.gpus, cap.gpus),
  );
}

function unsatisfiable(q: ResourceVector, nodes: readonly NodeState[]): PendingReason {
  const largest = nodes.reduce<NodeState | undefined>(
    (b, n) => (!b || shortfall(q, n.capacity, q) < shortfall(q, b.capacity, q) ? n : b),
    undefined,
  );
  const max = (r: keyof ResourceVector) => Math.max(0, ...nodes.map((n) => n.capacity[r]));
  const maxima = { cpus: max('cpus'), memMb: max('memMb'), gpus: max('gpus') };
  return {
    code: 'Unsatisfiable',
    message: largest
      ? `request ${formatResources(q)} fits no node; the largest, ${largest.id}, has ${formatResources(largest.capacity)}`
      : `request ${formatResources(q)} fits no node: there are no nodes`,
    unblock: 'reduce the request, or add a node large enough',
    details: { request: q, largestNode: largest?.id, largestCapacity: largest?.capacity, maxima },
  };
}

/**
 * The node-related reasons `t` cannot be placed now (POLICY pending reasons): Unsatisfiable
 * (fits no node at all), Constraint (labels rule out every node large enough), Excluded
 * (exclusions removed fitting nodes; the rest are full or absent), Resources (names the closest
 * fit, or says the fitting nodes are not ready). `fitsNow` skips the capacity reasons for a task
 * that waits for another reason (backoff). Pure over its inputs; reads `farm` without changing it.
 */
export function fitReasons(
  t: Task,
  nodes: readonly NodeState[],
  farm: Farm,
  fitsNow: boolean,
): PendingReason[] {
  const q = t.request;
  const big = nodes.filter((n) => fitsIn(q, n.capacity));
  if (big.length === 0) return [unsatisfiable(q, nodes)];
  const labelled = big.filter((n) => labelsMatch(n.labels, t.labels));
  if (labelled.length === 0) {
    return [
      {
        code: 'Constraint',
        message: `labels ${formatLabels(t.labels)} match none of the ${big.length} nodes large enough`,
        unblock: 'change the labels or constraints, or label a node that fits',
        details: { labels: t.labels, largeEnough: big.slice(0, 8).map((n) => n.id) },
      },
    ];
  }
  const out: PendingReason[] = [];
  const excluded = new Set(t.excludeNodes);
  const allowed = labelled.filter((n) => !excluded.has(n.id));
  const removed = labelled.filter((n) => excluded.has(n.id)).map((n) => n.id);
  if (removed.length > 0 && !fitsNow) {
    out.push({
      code: 'Excluded',
      message: `${removed.length} of the ${labelled.length} nodes that fit are excluded (${listed(removed)}); ${allowed.length === 0 ? 'no other node fits' : 'the others are full'}`,
      unblock: 'un-exclude nodes, or wait for the others to free up',
      details: { excluded: removed, remaining: allowed.length },
    });
  }
  if (allowed.length > 0 && !fitsNow) out.push(resources(q, allowed, farm));
  return out;
}

function resources(q: ResourceVector, allowed: readonly NodeState[], farm: Farm): PendingReason {
  let closest: { id: string; free: ResourceVector; gap: number } | undefined;
  for (const n of allowed) {
    const i = farm.indexOf(n.id);
    if (i === undefined) continue;
    const free = farm.free(i);
    const gap = shortfall(q, free, n.capacity);
    if (!closest || gap < closest.gap) closest = { id: n.id, free, gap };
  }
  if (!closest) {
    const states = [...new Set(allowed.map((n) => n.state))].sort();
    return {
      code: 'Resources',
      message: `the ${allowed.length} nodes that fit are not ready (${states.join(', ')})`,
      unblock: 'a node that fits becomes ready',
      details: { request: q, nodes: allowed.slice(0, 8).map((n) => n.id), states },
    };
  }
  return {
    code: 'Resources',
    message: `no node has ${formatResources(q)} free now; the closest, ${closest.id}, has ${formatResources(closest.free)} free`,
    unblock: 'capacity frees up on a node that fits (tasks finish or nodes join)',
    details: { request: q, closest: closest.id, free: closest.free },
  };
}

/** Users ahead of a task in the queue, with their dru at that point. */
export interface Ahead {
  user: string;
  dru: number;
  tasks: number;
}

/** `Priority`: others are ahead in the queue (names up to five users and their dru). Pure. */
export function priorityReason(ahead: readonly Ahead[], total: number): PendingReason {
  const named = ahead.map((a) => `${a.user} (dru ${a.dru.toFixed(3)})`).join(', ');
  return {
    code: 'Priority',
    message: `${total} tasks of other users are ahead in the queue: ${named}`,
    unblock: 'they finish, or your dru drops as your usage decays',
    details: { users: ahead, ahead: total },
  };
}

/** ISO text of a time in ms, or the number itself if no date can show it. Pure. */
export function isoTime(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/** `Backoff`: a retry waits out its backoff until `notBefore` (ms). Pure. */
export function backoffReason(notBefore: number): PendingReason {
  const when = isoTime(notBefore);
  return {
    code: 'Backoff',
    message: `retry backoff until ${when}`,
    unblock: `the time comes (${when})`,
    details: { notBefore },
  };
}
