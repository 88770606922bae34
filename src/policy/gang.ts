import { fitsIn, labelsMatch, type Farm } from './farm.js';
import { formatResources } from './reasons.js';
import type { NodeState, PendingReason, ResourceVector, Task } from './types.js';

/**
 * Finds the best node for one task on the farm as it is now (-1: none), without remembering a
 * miss: a gang's tentative takes are undone, so "fits nowhere" seen during one is not final.
 */
export type FindNode = (t: Task) => number;

/**
 * All-or-nothing placement of a gang: a spread job's waiting chunks (an allocation over several
 * nodes, like Slurm's `salloc -N`), each on its own node, all in this round or none of them. A
 * part of a gang never holds capacity while the rest waits: two allocations each holding part of
 * what the other needs would wait for each other forever.
 *
 * Greedy in the order given (rank order): each chunk takes the best node `find` gives it, its
 * gang's nodes so far excluded. When one finds none, every take is undone and the gang waits.
 * Round-local like `Farm`: changes `farm` only when it returns nodes (one per member, in order).
 */
export function fitGang(
  members: readonly Task[],
  farm: Farm,
  find: FindNode,
): number[] | undefined {
  const at: number[] = [];
  for (const t of members) {
    const taken = at.map((i) => farm.ids[i]!);
    const i = find(taken.length ? { ...t, excludeNodes: [...t.excludeNodes, ...taken] } : t);
    if (i < 0) {
      at.forEach((j, k) => farm.untake(j, members[k]!.request));
      return undefined;
    }
    farm.take(i, t.request);
    at.push(i);
  }
  return at;
}

/** The largest request of a gang per resource: what each node it counts must hold. */
export function gangRequest(members: readonly Task[]): ResourceVector {
  return {
    cpus: Math.max(...members.map((t) => t.request.cpus)),
    memMb: Math.max(...members.map((t) => t.request.memMb)),
    gpus: Math.max(...members.map((t) => t.request.gpus)),
  };
}

/**
 * Why a gang of `members` is not placed, counting nodes: how many of the `asked` distinct nodes
 * fit now (ready, free capacity, labels, not excluded) and how many ever could (capacity,
 * labels, not excluded, in any state). POLICY's `Unsatisfiable` when fewer could ever hold one
 * chunk than are asked (more nodes are needed), else `Resources` (capacity must free up on
 * enough nodes at once). Pure over its inputs; reads `farm` without changing it.
 */
export function gangReason(
  members: readonly Task[],
  nodes: readonly NodeState[],
  farm: Farm,
): PendingReason {
  const t = members[0]!;
  const q = gangRequest(members);
  const asked = members.length;
  const excluded = new Set(members.flatMap((m) => m.excludeNodes));
  const eligible = nodes.filter(
    (n) => fitsIn(q, n.capacity) && labelsMatch(n.labels, t.labels) && !excluded.has(n.id),
  );
  const fitNow = eligible.filter((n) => {
    const i = farm.indexOf(n.id);
    return i !== undefined && fitsIn(q, farm.free(i));
  });
  const details = {
    request: q,
    nodesAsked: asked,
    nodesFit: fitNow.length,
    nodesEligible: eligible.length,
    fit: fitNow.slice(0, 8).map((n) => n.id),
  };
  const each = formatResources(q);
  if (eligible.length < asked) {
    return {
      code: 'Unsatisfiable',
      message: `${fitNow.length} of ${asked} nodes fit now: needs ${asked} distinct nodes of ${each} at once, and only ${eligible.length} nodes could ever hold one; nothing is held until all do`,
      unblock: 'ask for fewer nodes or less per node, or add nodes',
      details,
    };
  }
  return {
    code: 'Resources',
    message: `${fitNow.length} of ${asked} nodes fit now: needs ${asked} distinct nodes with ${each} free at once; nothing is held until all do`,
    unblock: 'capacity frees up on enough nodes at once (tasks finish or nodes join)',
    details,
  };
}
