/**
 * Per-node resource state of one round, shared by the search trees: per node `i` and resource
 * `r` (index `3i + r`), the free amount, the utilisation `used / cap` and `1 / cap` (0 if the
 * node has none of `r`). Round-local and mutable; see `Farm`.
 */
export interface NodeArrays {
  free: Float64Array;
  util: Float64Array;
  inv: Float64Array;
}

const STACK = 256;

/**
 * A tournament tree over a fixed list of nodes (ascending id) that finds, for a request `q`,
 * the node with the lowest utilisation after placing, `max_r (util_r + q_r · inv_r)`, among
 * nodes with `q_r ≤ free_r + eps` for every r, ties to the lowest id: exactly what a linear scan
 * finds. Each subtree keeps, per resource, the largest free amount and the smallest `util` and
 * `inv`, so `max_r (minUtil_r + q_r · minInv_r)` bounds every node below it (float rounding is
 * monotone, so the bound holds in floats too). The search is best-first and prunes subtrees that
 * cannot fit or cannot win, which makes a round O(placements · log nodes) on farms of similar
 * nodes instead of O(placements · nodes). Internal and round-local.
 */
export class NodeTree {
  /** The utilisation after placing of the node the last `search` found. */
  lastValue = Infinity;
  /** Leaf position of node `i`, or -1 if the node is not in this tree. */
  readonly posOf: Int32Array;
  private readonly size: number;
  private readonly maxFree: Float64Array;
  private readonly minUtil: Float64Array;
  private readonly minInv: Float64Array;
  private readonly stackK = new Int32Array(STACK);
  private readonly stackLo = new Int32Array(STACK);
  private readonly stackSpan = new Int32Array(STACK);

  constructor(
    readonly members: Int32Array,
    private readonly a: NodeArrays,
    nodeCount: number,
  ) {
    let size = 1;
    while (size < members.length) size *= 2;
    this.size = size;
    this.posOf = new Int32Array(nodeCount).fill(-1);
    this.maxFree = new Float64Array(6 * size).fill(-Infinity);
    this.minUtil = new Float64Array(6 * size).fill(Infinity);
    this.minInv = new Float64Array(6 * size).fill(Infinity);
    members.forEach((i, pos) => {
      this.posOf[i] = pos;
      this.setLeaf(pos, i);
    });
    for (let k = size - 1; k >= 1; k--) this.pull(k);
  }

  /** Re-reads node `i` after its usage changed. */
  update(i: number): void {
    const pos = this.posOf[i]!;
    if (pos < 0) return;
    this.setLeaf(pos, i);
    for (let k = (this.size + pos) >> 1; k >= 1; k >>= 1) this.pull(k);
  }

  /**
   * The best node for `q` whose `marks` share no bit with `skip`, or -1. Marked nodes are
   * skipped at the leaves (exclusion lists are short), so the bounds stay valid.
   */
  search(qc: number, qm: number, qg: number, eps: number, marks: Uint8Array, skip: number): number {
    const { maxFree, stackK, stackLo, stackSpan, members } = this;
    let best = -1;
    let bestU = Infinity;
    stackK[0] = 1;
    stackLo[0] = 0;
    stackSpan[0] = this.size;
    let top = 1;
    while (top > 0) {
      top--;
      const k = stackK[top]!;
      const lo = stackLo[top]!;
      const span = stackSpan[top]!;
      const b = 3 * k;
      if (qc > maxFree[b]! + eps || qm > maxFree[b + 1]! + eps || qg > maxFree[b + 2]! + eps) {
        continue;
      }
      const bound = this.bound(k, qc, qm, qg);
      if (bound > bestU || (bound === bestU && lo > best)) continue;
      if (span === 1) {
        if (marks[members[lo]!]! & skip) continue;
        best = lo;
        bestU = bound;
        continue;
      }
      const half = span >> 1;
      const left = 2 * k;
      // Push the less promising child first, so the better one is searched first.
      const leftFirst = this.bound(left, qc, qm, qg) <= this.bound(left + 1, qc, qm, qg);
      const first = leftFirst ? left + 1 : left;
      stackK[top] = first;
      stackLo[top] = leftFirst ? lo + half : lo;
      stackSpan[top] = half;
      stackK[top + 1] = first ^ 1;
      stackLo[top + 1] = leftFirst ? lo : lo + half;
      stackSpan[top + 1] = half;
      top += 2;
    }
    this.lastValue = bestU;
    return best < 0 ? -1 : members[best]!;
  }

  private bound(k: number, qc: number, qm: number, qg: number): number {
    const b = 3 * k;
    const { minUtil: u, minInv: v } = this;
    return Math.max(u[b]! + qc * v[b]!, u[b + 1]! + qm * v[b + 1]!, u[b + 2]! + qg * v[b + 2]!);
  }

  private setLeaf(pos: number, i: number): void {
    const b = 3 * (this.size + pos);
    for (let r = 0; r < 3; r++) {
      this.maxFree[b + r] = this.a.free[3 * i + r]!;
      this.minUtil[b + r] = this.a.util[3 * i + r]!;
      this.minInv[b + r] = this.a.inv[3 * i + r]!;
    }
  }

  private pull(k: number): void {
    const b = 3 * k;
    const l = 6 * k;
    const rt = l + 3;
    for (let r = 0; r < 3; r++) {
      this.maxFree[b + r] = Math.max(this.maxFree[l + r]!, this.maxFree[rt + r]!);
      this.minUtil[b + r] = Math.min(this.minUtil[l + r]!, this.minUtil[rt + r]!);
      this.minInv[b + r] = Math.min(this.minInv[l + r]!, this.minInv[rt + r]!);
    }
  }
}
