import { NodeTree, type NodeArrays } from './node-tree.js';
import type { NodeState, ResourceVector, SkippedNode, Task } from './types.js';

/** Float slack for fractional cpus: 0.1 ten times fits in 1 cpu. */
export const EPS = 1e-9;

/** `labels ⊇ want`: every constraint `k=v` is one of the node's labels. Pure. */
export function labelsMatch(
  labels: Readonly<Record<string, string>>,
  want: Readonly<Record<string, string>>,
): boolean {
  for (const k in want) {
    if (!Object.hasOwn(want, k)) continue;
    if (!Object.hasOwn(labels, k) || labels[k] !== want[k]) return false;
  }
  return true;
}

/** `a ≤ b` in every resource (with float slack). Pure. */
export function fitsIn(a: ResourceVector, b: ResourceVector): boolean {
  return a.cpus <= b.cpus + EPS && a.memMb <= b.memMb + EPS && a.gpus <= b.gpus + EPS;
}

const EXCLUDED = 1;
const AVOIDED = 2;
/** How many candidates `skipped` looks at for full or too small nodes. */
const SKIP_SCAN = 128;
/** Above this many node sizes among the candidates, one tree holds them all. */
const MAX_CLASSES = 16;

/** The ready nodes matching one label constraint: in id order, and as trees per node size. */
export interface Candidates {
  members: Int32Array;
  trees: NodeTree[];
}

/**
 * The ready nodes of one round as flat arrays sorted by id, with their free capacity updated as
 * the round places, and one search tree per label constraint seen. Internal and round-local: the
 * only mutable state of the policy, created and dropped inside one `placeRound` call, so the
 * round stays a pure function of its inputs.
 */
export class Farm {
  readonly ids: string[];
  readonly nodes: NodeState[];
  private readonly byId = new Map<string, number>();
  private readonly cap: Float64Array;
  private readonly used: Float64Array;
  private readonly arrays: NodeArrays;
  private readonly marks: Uint8Array;
  private readonly byLabels = new Map<string, Candidates>();
  private readonly trees: NodeTree[] = [];

  constructor(ready: readonly NodeState[]) {
    this.nodes = [...ready].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const n = this.nodes.length;
    this.ids = this.nodes.map((x) => x.id);
    this.cap = new Float64Array(3 * n);
    this.used = new Float64Array(3 * n);
    this.arrays = {
      free: new Float64Array(3 * n),
      util: new Float64Array(3 * n),
      inv: new Float64Array(3 * n),
    };
    this.marks = new Uint8Array(n);
    this.nodes.forEach((x, i) => {
      this.byId.set(x.id, i);
      const c = [x.capacity.cpus, x.capacity.memMb, x.capacity.gpus];
      const u = [x.used.cpus, x.used.memMb, x.used.gpus];
      for (let r = 0; r < 3; r++) {
        this.cap[3 * i + r] = c[r]!;
        this.used[3 * i + r] = u[r]!;
        this.arrays.inv[3 * i + r] = c[r]! > 0 ? 1 / c[r]! : 0;
      }
      this.refresh(i);
    });
  }

  /** Index of a ready node by id. */
  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** Free capacity of ready node `i` now. */
  free(i: number): ResourceVector {
    const f = this.arrays.free;
    return { cpus: f[3 * i]!, memMb: f[3 * i + 1]!, gpus: f[3 * i + 2]! };
  }

  /** Largest free amount per resource over all ready nodes. */
  maxFree(): ResourceVector {
    const m = { cpus: -Infinity, memMb: -Infinity, gpus: -Infinity };
    const f = this.arrays.free;
    for (let i = 0; i < this.ids.length; i++) {
      m.cpus = Math.max(m.cpus, f[3 * i]!);
      m.memMb = Math.max(m.memMb, f[3 * i + 1]!);
      m.gpus = Math.max(m.gpus, f[3 * i + 2]!);
    }
    return m;
  }

  /**
   * The ready nodes whose labels satisfy the constraints (memoised per key), with one search
   * tree per node size: within a size the trees' bounds are tight, which keeps searches short.
   */
  candidates(labelKey: string, want: Readonly<Record<string, string>>): Candidates {
    let c = this.byLabels.get(labelKey);
    if (!c) {
      const all = Int32Array.from(this.ids.keys());
      const members =
        labelKey === '' ? all : all.filter((i) => labelsMatch(this.nodes[i]!.labels, want));
      const bySize = new Map<string, number[]>();
      for (const i of members) {
        const { cpus, memMb, gpus } = this.nodes[i]!.capacity;
        const size = `${cpus}|${memMb}|${gpus}`;
        const list = bySize.get(size);
        if (list) list.push(i);
        else bySize.set(size, [i]);
      }
      const groups = bySize.size > MAX_CLASSES ? [members] : [...bySize.values()];
      const trees = groups.map(
        (g) => new NodeTree(Int32Array.from(g), this.arrays, this.ids.length),
      );
      this.trees.push(...trees);
      c = { members, trees };
      this.byLabels.set(labelKey, c);
    }
    return c;
  }

  /**
   * The best ready node for `t` among `c`: fits in free capacity, not excluded, lowest
   * max-dimension utilisation after placing, ties to the lowest id; avoided nodes only if no
   * other fits. Returns -1 if none fits.
   */
  best(t: Task, c: Candidates): number {
    this.mark(t, 1);
    let i = this.search(t.request, c.trees, EXCLUDED | AVOIDED);
    if (i < 0 && t.avoidNodes.length > 0) i = this.search(t.request, c.trees, EXCLUDED);
    this.mark(t, 0);
    return i;
  }

  private search(q: ResourceVector, trees: readonly NodeTree[], skip: number): number {
    let best = -1;
    let bestU = Infinity;
    for (const tree of trees) {
      const i = tree.search(q.cpus, q.memMb, q.gpus, EPS, this.marks, skip);
      if (i < 0) continue;
      const u = tree.lastValue;
      if (u < bestU || (u === bestU && i < best)) {
        best = i;
        bestU = u;
      }
    }
    return best;
  }

  /** Takes `q` from node `i`'s free capacity. */
  take(i: number, q: ResourceVector): void {
    const u = this.used;
    const b = 3 * i;
    u[b] = u[b]! + q.cpus;
    u[b + 1] = u[b + 1]! + q.memMb;
    u[b + 2] = u[b + 2]! + q.gpus;
    this.refresh(i);
    for (const tree of this.trees) tree.update(i);
  }

  /** Gives `q` back to node `i` (undoes a `take` of the same round: a gang that did not fit). */
  untake(i: number, q: ResourceVector): void {
    this.take(i, { cpus: -q.cpus, memMb: -q.memMb, gpus: -q.gpus });
  }

  private refresh(i: number): void {
    const { free, util, inv } = this.arrays;
    for (let b = 3 * i; b < 3 * i + 3; b++) {
      free[b] = this.cap[b]! - this.used[b]!;
      util[b] = this.used[b]! * inv[b]!;
    }
  }

  private mark(t: Task, on: 0 | 1): void {
    for (const id of t.excludeNodes) this.setMark(id, EXCLUDED, on);
    for (const id of t.avoidNodes) this.setMark(id, AVOIDED, on);
  }

  private setMark(id: string, bit: number, on: 0 | 1): void {
    const i = this.byId.get(id);
    if (i !== undefined) this.marks[i] = on ? this.marks[i]! | bit : 0;
  }

  /**
   * Up to `max` nodes `t` passed over on its way to `chosen` (call right after placing), most
   * informative first: avoided nodes, excluded ones, then (if `full`) the first candidates by id
   * that are too small or full (looking at the first 128), and nodes its labels ruled out.
   */
  skipped(t: Task, c: Candidates, chosen: number, full: boolean, max = 8): SkippedNode[] {
    const out: SkippedNode[] = [];
    const push = (node: string, reason: SkippedNode['reason']) => {
      if (out.length < max && node !== this.ids[chosen]) out.push({ node, reason });
    };
    for (const id of t.avoidNodes) if (this.byId.has(id)) push(id, 'avoided');
    for (const id of t.excludeNodes) push(id, 'excluded');
    if (!full) return out;
    const excluded = new Set([...t.excludeNodes, ...t.avoidNodes]);
    const members = c.members;
    for (let k = 0; k < members.length && k < SKIP_SCAN && out.length < max; k++) {
      const i = members[k]!;
      if (i === chosen || excluded.has(this.ids[i]!) || fitsIn(t.request, this.free(i))) continue;
      push(this.ids[i]!, fitsIn(t.request, this.nodes[i]!.capacity) ? 'full' : 'too_small');
    }
    if (Object.keys(t.labels).length === 0) return out;
    for (let i = 0; i < this.ids.length && out.length < max; i++) {
      if (!labelsMatch(this.nodes[i]!.labels, t.labels)) push(this.ids[i]!, 'constraint');
    }
    return out;
  }
}
