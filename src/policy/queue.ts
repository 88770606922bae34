import { STEP_ITEMS, runSteps, sortSteps, type Steps } from './steps.js';
import type { FairShareConfig, Ranked, ResourceVector, Task } from './types.js';

/** What `queueOrder` needs besides the tasks: farm capacity, decayed history, knobs. */
export interface QueueContext {
  /** C_r: the farm's total capacity; a resource with C_r = 0 does not count. */
  capacity: ResourceVector;
  /** H_r(u): decayed usage in resource-seconds, as of the round's `now`. */
  history: (user: string) => ResourceVector;
  config: FairShareConfig;
}

/**
 * A user's own order (POLICY §1, §3): global-front overrides first, then priority (higher
 * first), running before waiting, partial before fresh, earlier submission, log order, chunk
 * index, id. Total on distinct ids, so sorting with it is deterministic. Pure.
 */
export function compareWithinUser(a: Task, b: Task): number {
  if (a.globalFront !== b.globalFront) return a.globalFront ? -1 : 1;
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.running !== b.running) return a.running ? -1 : 1;
  if (!a.partial !== !b.partial) return a.partial ? -1 : 1;
  if (a.submittedAt !== b.submittedAt) return a.submittedAt - b.submittedAt;
  if (a.order !== b.order) return a.order - b.order;
  if (a.index !== b.index) return a.index - b.index;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** w_r(u) per resource: a number applies to all, a partial vector defaults missing ones to 1. */
export function weightOf(config: FairShareConfig, user: string): ResourceVector {
  const w = Object.hasOwn(config.weights, user) ? config.weights[user] : undefined;
  if (w === undefined) return { cpus: 1, memMb: 1, gpus: 1 };
  if (typeof w === 'number') return { cpus: w, memMb: w, gpus: w };
  return { cpus: w.cpus ?? 1, memMb: w.memMb ?? 1, gpus: w.gpus ?? 1 };
}

function term(sum: number, base: number, weight: number, cap: number): number {
  if (!(cap > 0)) return 0;
  const num = sum + base;
  if (!(weight > 0)) return num > 0 ? Infinity : 0;
  return num / (weight * cap);
}

/** One user's tasks in their own order with each task's dru. */
interface UserList {
  user: string;
  tasks: Task[];
  drus: Float64Array;
  next: number;
  /** Items of the aggregate at `next` already in the queue (`Task.count`); 0 for other tasks. */
  taken: number;
  /** The dru of the current item: `drus[next]`, or an aggregate's next item's. */
  cur: number;
  /** dru of the aggregate at `i` after `j` of its items (1..count); set when one exists. */
  druAfter?: (i: number, j: number) => number;
}

function* userList(user: string, tasks: Task[], ctx: QueueContext): Steps<UserList> {
  yield* sortSteps(tasks, compareWithinUser);
  const { capacity: c, config } = ctx;
  const w = weightOf(config, user);
  const h = ctx.history(user);
  const k = config.lambda / (config.horizonS ?? config.halfLifeS);
  const base = config.lambda === 0 ? [0, 0, 0] : [k * h.cpus, k * h.memMb, k * h.gpus];
  const drus = new Float64Array(tasks.length);
  const dru = (sc: number, sm: number, sg: number) =>
    Math.max(
      term(sc, base[0]!, w.cpus, c.cpus),
      term(sm, base[1]!, w.memMb, c.memMb),
      term(sg, base[2]!, w.gpus, c.gpus),
    );
  let before: Map<number, [number, number, number]> | undefined;
  let sc = 0;
  let sm = 0;
  let sg = 0;
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    if (t.count !== undefined) (before ??= new Map()).set(i, [sc, sm, sg]);
    sc += t.request.cpus;
    sm += t.request.memMb;
    sg += t.request.gpus;
    drus[i] = dru(sc, sm, sg);
  }
  const list: UserList = { user, tasks, drus, next: 0, taken: 0, cur: 0 };
  if (before) {
    const at = before;
    list.druAfter = (i, j) => {
      const t = tasks[i]!;
      const n = t.count!;
      const [bc, bm, bg] = at.get(i)!;
      if (j === n) return drus[i]!; // the sum as accumulated: later tasks start from it
      return dru(
        bc + (t.request.cpus / n) * j,
        bm + (t.request.memMb / n) * j,
        bg + (t.request.gpus / n) * j,
      );
    };
  }
  setCurrent(list);
  return list;
}

/** `cur` for the list's current item. */
function setCurrent(l: UserList): void {
  if (l.next >= l.tasks.length) return;
  const t = l.tasks[l.next]!;
  l.cur = t.count !== undefined && l.druAfter ? l.druAfter(l.next, l.taken + 1) : l.drus[l.next]!;
}

/** Global merge key: front first, then dru, submission, log order, id, user. */
function before(a: UserList, b: UserList): boolean {
  return itemBefore(a, a.cur, b);
}

/** Whether `a`'s current task with dru `da` goes before `b`'s current item. */
function itemBefore(a: UserList, da: number, b: UserList): boolean {
  const ta = a.tasks[a.next]!;
  const tb = b.tasks[b.next]!;
  if (ta.globalFront !== tb.globalFront) return ta.globalFront;
  const db = b.cur;
  if (da !== db) return da < db;
  if (ta.submittedAt !== tb.submittedAt) return ta.submittedAt < tb.submittedAt;
  if (ta.order !== tb.order) return ta.order < tb.order;
  if (ta.id !== tb.id) return ta.id < tb.id;
  return a.user < b.user;
}

/**
 * How many more items of the aggregate at the top go before the next list's current item: the
 * piece of it the queue takes now (at least one; all that remain when no other list is left).
 * drus only grow along the aggregate, so a binary search finds the last that goes first.
 */
function pieceOf(heap: UserList[]): number {
  const top = heap[0]!;
  const n = top.tasks[top.next]!.count!;
  const second =
    heap.length < 2
      ? undefined
      : heap.length < 3 || before(heap[1]!, heap[2]!)
        ? heap[1]!
        : heap[2]!;
  if (!second || !top.druAfter) return n - top.taken;
  let lo = top.taken + 1; // goes first: the top is the heap's least
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (itemBefore(top, top.druAfter(top.next, mid), second)) lo = mid;
    else hi = mid - 1;
  }
  return lo - top.taken;
}

function siftDown(heap: UserList[], i: number): void {
  const n = heap.length;
  const item = heap[i]!;
  for (;;) {
    let m = 2 * i + 1;
    if (m >= n) break;
    if (m + 1 < n && before(heap[m + 1]!, heap[m]!)) m++;
    if (!before(heap[m]!, item)) break;
    heap[i] = heap[m]!;
    i = m;
  }
  heap[i] = item;
}

/**
 * The global queue of POLICY §1-3. Pure and deterministic: the result depends only on the
 * multiset of tasks and `ctx`, never on input order.
 *
 * Each user's tasks are walked in the user's own order (`compareWithinUser`) with running sums
 * S_r, giving `dru(t) = max_r (S_r(t) + λ·H_r(u)/horizon) / (w_r(u)·C_r)`, skipping resources
 * with C_r = 0. Since requests are non-negative, dru never decreases along a user's list, so
 * the users' lists are merged with a heap (O(n log users)): ascending dru, ties by earlier
 * submission, log order, then id. Global-front tasks (admin override) come before all others.
 * Running tasks are included (they hold their place and count in S_r); `rank` is the position,
 * an aggregate (`Task.count`) taking as many places as the chunks it stands for.
 */
export function queueOrder(tasks: readonly Task[], ctx: QueueContext): Ranked[] {
  return runSteps(queueOrderSteps(tasks, ctx));
}

/** `queueOrder` as steps (`Steps`): the same queue, with a yield every few hundred tasks. Pure. */
export function* queueOrderSteps(tasks: readonly Task[], ctx: QueueContext): Steps<Ranked[]> {
  const byUser = new Map<string, Task[]>();
  let n = 0;
  for (const t of tasks) {
    const list = byUser.get(t.user);
    if (list) list.push(t);
    else byUser.set(t.user, [t]);
    if (++n % STEP_ITEMS === 0) yield;
  }
  const heap: UserList[] = [];
  for (const [user, list] of byUser) heap.push(yield* userList(user, list, ctx));
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  const out: Ranked[] = [];
  let rank = 0;
  while (heap.length > 0) {
    const top = heap[0]!;
    const task = top.tasks[top.next]!;
    if (task.count === undefined) {
      out.push({ task, dru: top.drus[top.next]!, rank });
      rank++;
      top.next++;
    } else {
      // An aggregate enters the queue in pieces, each where one task per chunk would have been:
      // other users' tasks between its chunks keep their ranks, and each piece its last dru.
      const piece = pieceOf(heap);
      top.taken += piece;
      const dru = top.druAfter ? top.druAfter(top.next, top.taken) : top.drus[top.next]!;
      out.push({ task: piece === task.count ? task : { ...task, count: piece }, dru, rank });
      rank += piece;
      if (top.taken === task.count) {
        top.taken = 0;
        top.next++;
      }
    }
    setCurrent(top);
    if (out.length % STEP_ITEMS === 0) yield;
    if (top.next === top.tasks.length) {
      const last = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    siftDown(heap, 0);
  }
  return out;
}
