import { EPS, Farm } from './farm.js';
import { fitGang, gangReason } from './gang.js';
import { backoffReason, fitReasons, priorityReason, type Ahead } from './reasons.js';
import { STEP_ITEMS, runSteps, type Steps } from './steps.js';
import type {
  NodeState,
  PendingReason,
  Placement,
  Ranked,
  ResourceVector,
  RoundOptions,
  RoundGate,
  RoundResult,
  SkippedNode,
  Task,
} from './types.js';

const MAX_NAMED_USERS = 5;

/** Memo of the round: which request shapes (with constraints) fit nowhere any more. */
class Misses {
  private readonly keys = new Set<string>();
  private readonly plain: ResourceVector[] = [];
  private bound: ResourceVector;
  private readonly labelKeys = new WeakMap<object, string>();
  /** Exclusion lists are often one shared array (a reservation gate's verdict): joined once. */
  private readonly excludeKeys = new WeakMap<readonly string[], string>();
  private readonly plainKeys = new WeakMap<ResourceVector, string>();

  constructor(private readonly farm: Farm) {
    this.bound = farm.maxFree();
  }

  labelKey(labels: Readonly<Record<string, string>>): string {
    let k = this.labelKeys.get(labels);
    if (k === undefined) {
      const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      k = entries.length === 0 ? '' : JSON.stringify(entries);
      this.labelKeys.set(labels, k);
    }
    return k;
  }

  key(t: Task, labelKey: string): string {
    const q = t.request;
    // A plain task's key is its request's: one string per request object (often shared between
    // tasks), not one per task per round.
    const plain = labelKey === '' && t.excludeNodes.length === 0;
    if (plain) {
      let k = this.plainKeys.get(q);
      if (k === undefined) this.plainKeys.set(q, (k = `${q.cpus}|${q.memMb}|${q.gpus}||`));
      return k;
    }
    let ex = t.excludeNodes.length === 0 ? '' : this.excludeKeys.get(t.excludeNodes);
    if (ex === undefined) {
      ex = t.excludeNodes.join('\u0000');
      this.excludeKeys.set(t.excludeNodes, ex);
    }
    return `${q.cpus}|${q.memMb}|${q.gpus}|${labelKey}|${ex}`;
  }

  /** True if `t` is known to fit nowhere: free capacity only shrinks within a round. */
  known(t: Task, key: string, plain: boolean): boolean {
    const q = t.request;
    const b = this.bound;
    if (q.cpus > b.cpus + EPS || q.memMb > b.memMb + EPS || q.gpus > b.gpus + EPS) return true;
    if (this.keys.has(key)) return true;
    return (
      plain && this.plain.some((p) => p.cpus <= q.cpus && p.memMb <= q.memMb && p.gpus <= q.gpus)
    );
  }

  add(t: Task, key: string, plain: boolean): void {
    this.keys.add(key);
    if (plain && this.plain.length < 64) this.plain.push(t.request);
    this.bound = this.farm.maxFree();
  }
}

/**
 * Nodes each spread job (`Task.spread`) holds in this round: where its running chunks are and
 * where the round placed its others. A spread task gets them as exclusions, so no two chunks of
 * the job share a node, and the usual `Excluded` reason when no other node fits.
 */
class SpreadNodes {
  private readonly byJob = new Map<string, string[]>();

  constructor(ranked: readonly Ranked[]) {
    for (const { task: t } of ranked) if (t.spread && t.running && t.node) this.took(t, t.node);
  }

  /** `t`, or a copy excluding the nodes its job holds already. */
  constrain(t: Task): Task {
    if (!t.spread || t.running) return t;
    const held = this.byJob.get(t.jobId);
    if (!held?.length) return t;
    return { ...t, excludeNodes: [...new Set([...t.excludeNodes, ...held])] };
  }

  took(t: Task, node: string): void {
    if (!t.spread) return;
    const held = this.byJob.get(t.jobId);
    if (held) held.push(node);
    else this.byJob.set(t.jobId, [node]);
  }
}

/** Who is ahead in the queue so far, for `Priority` reasons. */
class AheadTracker {
  private readonly perUser = new Map<string, Ahead>();
  private seen = 0;

  note(r: Ranked): void {
    const n = r.task.count ?? 1;
    this.seen += n;
    const a = this.perUser.get(r.task.user);
    if (a) {
      a.dru = r.dru;
      a.tasks += n;
    } else this.perUser.set(r.task.user, { user: r.task.user, dru: r.dru, tasks: n });
  }

  /** Up to five other users ahead (the first to enter the queue), or undefined if none. */
  reason(user: string): PendingReason | undefined {
    const total = this.seen - (this.perUser.get(user)?.tasks ?? 0);
    if (total === 0) return undefined;
    const named: Ahead[] = [];
    for (const a of this.perUser.values()) {
      if (a.user !== user) named.push({ ...a });
      if (named.length === MAX_NAMED_USERS) break;
    }
    return priorityReason(named, total);
  }
}

/**
 * One placement round. Pure: the same ranked queue, nodes and `now` give the same result; the
 * inputs are never mutated.
 *
 * Walks waiting tasks in rank order (running tasks are skipped) and fits each on free capacity
 * (`capacity - used`, updated as the round places), only on `ready` nodes whose labels include
 * the task's constraints and that it does not exclude. Among fitting nodes it spreads load: the
 * lowest max-dimension utilisation after placing, ties to the lowest node id; nodes in
 * `avoidNodes` are used only if nothing else fits. A task that does not fit is skipped, not
 * blocking smaller ones behind it (backfill), and gets all its pending reasons. Tasks in backoff
 * are not placed. A spread job's waiting chunks are a gang (`Task.spread`, see `fitGang`): met
 * at the rank of its first, they are all placed in this round, each on its own node and never
 * on a node another chunk of the job holds, or none is, and each waits with a reason counting
 * the nodes that fit against those asked. `maxPlacements` ends the walk; tasks after that point
 * are not looked at (a gang met before it is placed whole, passing it by at most its size - 1).
 *
 * Speed: the best node is found with per-size search trees (`NodeTree`), O(log nodes) a
 * placement on farms of a few node sizes; a request shape (with its constraints) that fits
 * nowhere is remembered for the round, as is the largest free amount per resource, so once the
 * farm is full the rest of the queue costs O(1) a task. With `reasons: false` no reason objects
 * are built and `skipped` lists only the task's avoided and excluded nodes. Reasons computed for
 * a shape are reused by later tasks of the same shape in the round (free capacity only shrinks),
 * and may be shared objects: treat the result as read-only.
 */
export function placeRound(
  ranked: readonly Ranked[],
  nodes: readonly NodeState[],
  now: number,
  opts: RoundOptions = {},
): RoundResult {
  return runSteps(placeRoundSteps(ranked, nodes, now, opts));
}

/**
 * `placeRound` as steps (`Steps`): the same result, with a yield every few hundred ranked tasks.
 * Pure as `placeRound` is, given inputs that do not change between its steps (the scheduler's
 * round hands it its own copies).
 */
export function* placeRoundSteps(
  ranked: readonly Ranked[],
  nodes: readonly NodeState[],
  now: number,
  opts: RoundOptions = {},
): Steps<RoundResult> {
  const max = opts.maxPlacements ?? Infinity;
  const explain = opts.reasons ?? true;
  const farm = new Farm(nodes.filter((n) => n.state === 'ready'));
  const notReady = nodes
    .filter((n) => n.state !== 'ready')
    .map((n): SkippedNode => ({ node: n.id, reason: 'not_ready' }));
  const misses = new Misses(farm);
  const ahead = new AheadTracker();
  const fitMemo = new Map<string, PendingReason[]>();
  const placements: Placement[] = [];
  const waiting = new Map<string, PendingReason[]>();
  const spread = new SpreadNodes(ranked);
  const gangs = gangsOf(ranked);
  const round: RoundCtx = { nodes, farm, misses, spread, ahead, placements, waiting, notReady };
  let seen = 0;
  for (const r of ranked) {
    if (++seen % STEP_ITEMS === 0) yield;
    if (placements.length >= max) break;
    if (r.task.count !== undefined) {
      // An aggregate of chunks the round cannot place: it only counts as ahead of later tasks.
      if (explain) ahead.note(r);
      continue;
    }
    const gang = r.task.spread && !r.task.running ? gangs.get(r.task.jobId) : undefined;
    if (gang) {
      gangs.delete(r.task.jobId); // met once, at its first member's rank
      placeGang(gang, round, now, explain, opts.gate);
      continue;
    }
    if (r.task.spread && !r.task.running) continue; // a later member of a gang met above
    const t = spread.constrain(r.task);
    if (t.running) {
      if (explain) ahead.note(r);
      continue;
    }
    const backoff = t.notBefore !== undefined && t.notBefore > now;
    if (backoff && !explain) {
      waiting.set(t.id, []);
      continue;
    }
    const held = opts.gate?.check(t, explain);
    if (held) {
      waiting.set(t.id, explain ? [held] : []);
      if (explain) ahead.note(r);
      continue;
    }
    const { at, cands, key } = findNode(t, farm, misses);
    if (cands && at >= 0 && !backoff) {
      farm.take(at, t.request);
      opts.gate?.take(t);
      spread.took(t, farm.ids[at]!);
      const skipped = farm.skipped(t, cands, at, explain);
      if (explain) skipped.push(...notReady.slice(0, 8 - skipped.length));
      placements.push({ task: t, node: farm.ids[at]!, dru: r.dru, rank: r.rank, skipped });
    } else if (!explain) {
      waiting.set(t.id, []);
    } else {
      waiting.set(t.id, reasonsFor(t, at >= 0, backoff, { nodes, farm, fitMemo, key, ahead }));
    }
    if (explain) ahead.note(r);
  }
  return { placements, waiting };
}

/**
 * The node for `t` (-1 if none fits now) and its candidates (unless known to fit nowhere). A miss
 * is remembered for the round unless `remember` is false (a gang's tentative search).
 */
function findNode(t: Task, farm: Farm, misses: Misses, remember = true) {
  const labelKey = misses.labelKey(t.labels);
  const key = misses.key(t, labelKey);
  const plain = labelKey === '' && t.excludeNodes.length === 0;
  if (misses.known(t, key, plain)) return { at: -1, key };
  const cands = farm.candidates(labelKey, t.labels);
  const at = farm.best(t, cands);
  if (at < 0 && remember) misses.add(t, key, plain);
  return { at, cands, key };
}

/** Each spread job's waiting tasks in rank order: the gangs of the round, by job id. */
function gangsOf(ranked: readonly Ranked[]): Map<string, Ranked[]> {
  const out = new Map<string, Ranked[]>();
  for (const r of ranked) {
    if (!r.task.spread || r.task.running) continue;
    const g = out.get(r.task.jobId);
    if (g) g.push(r);
    else out.set(r.task.jobId, [r]);
  }
  return out;
}

/** What a round shares with the placement of a gang. */
interface RoundCtx {
  nodes: readonly NodeState[];
  farm: Farm;
  misses: Misses;
  spread: SpreadNodes;
  ahead: AheadTracker;
  placements: Placement[];
  waiting: Map<string, PendingReason[]>;
  notReady: readonly SkippedNode[];
}

/**
 * A gang (a spread job's waiting tasks): all placed, each on its own node, or all waiting with
 * the same reasons (backoff of any; the gate's hold for their sum, so a quota sees the whole
 * allocation; else the count of nodes that fit against those asked).
 */
function placeGang(
  gang: readonly Ranked[],
  c: RoundCtx,
  now: number,
  explain: boolean,
  gate: RoundGate | undefined,
): void {
  const members = gang.map((r) => c.spread.constrain(r.task));
  const wait = (reasons: () => PendingReason[]) => {
    const why = explain ? reasons() : [];
    for (const t of members) c.waiting.set(t.id, why);
    if (explain) for (const r of gang) c.ahead.note(r);
  };
  const backoff = members.find((t) => t.notBefore !== undefined && t.notBefore > now);
  if (backoff) return wait(() => [backoffReason(backoff.notBefore!)]);
  const held = gate?.check({ ...members[0]!, request: sumOf(members) }, explain);
  if (held) return wait(() => [held]);
  const at = fitGang(members, c.farm, (t) => findNode(t, c.farm, c.misses, false).at);
  if (!at) {
    return wait(() => {
      const why = gangReason(members, c.nodes, c.farm);
      const prio = why.code === 'Resources' ? c.ahead.reason(members[0]!.user) : undefined;
      return prio ? [prio, why] : [why];
    });
  }
  members.forEach((t, k) => {
    const i = at[k]!;
    const node = c.farm.ids[i]!;
    gate?.take(t);
    c.spread.took(t, node);
    const cands = c.farm.candidates(c.misses.labelKey(t.labels), t.labels);
    const skipped = c.farm.skipped(t, cands, i, explain);
    if (explain) skipped.push(...c.notReady.slice(0, 8 - skipped.length));
    c.placements.push({ task: t, node, dru: gang[k]!.dru, rank: gang[k]!.rank, skipped });
    if (explain) c.ahead.note(gang[k]!);
  });
}

function sumOf(tasks: readonly Task[]): ResourceVector {
  const s = { cpus: 0, memMb: 0, gpus: 0 };
  for (const t of tasks) {
    s.cpus += t.request.cpus;
    s.memMb += t.request.memMb;
    s.gpus += t.request.gpus;
  }
  return s;
}

interface ReasonCtx {
  nodes: readonly NodeState[];
  farm: Farm;
  fitMemo: Map<string, PendingReason[]>;
  key: string;
  ahead: AheadTracker;
}

function reasonsFor(t: Task, fitsNow: boolean, backoff: boolean, c: ReasonCtx): PendingReason[] {
  let fit = fitsNow ? undefined : c.fitMemo.get(c.key);
  if (!fit) {
    fit = fitReasons(t, c.nodes, c.farm, fitsNow);
    if (!fitsNow) c.fitMemo.set(c.key, fit);
  }
  const capacityBound = fit.some((x) => x.code === 'Resources');
  const prio = capacityBound ? c.ahead.reason(t.user) : undefined;
  // Only the fit reasons: the memo's own list, shared by every task of the shape (read-only).
  if (!backoff && !prio) return fit;
  const out: PendingReason[] = backoff ? [backoffReason(t.notBefore!)] : [];
  if (prio) out.push(prio);
  out.push(...fit);
  return out;
}
