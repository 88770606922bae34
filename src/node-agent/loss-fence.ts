/**
 * What the agent knows of its node's latest loss. When the scheduler declares a node lost it
 * fails every attempt live there (`nodeLostActions`: assigned or running; a cancelling one is
 * left to its cancel), but it appends `node.lost` first and the attempts' failures after, each
 * in its own append. An agent that meets its loss (on the log's tail, after a reconnect, at
 * start) cannot wait for those failures to tell which of its processes were given up: read too
 * early, a chunk still names the attempt, the process is kept and then runs beside its retry.
 * The fence decides without them: an attempt assigned to this node before the latest
 * `node.lost` was given up by it (or will be). Assignments compare by their sequence in the
 * event stream, which orders every entity's events.
 */
export interface LossFence {
  /** Sequence of the latest `node.lost` of this node the agent knows of (0: none). */
  readonly seq: number;
  /** A later loss is known (earlier ones change nothing). */
  raise(seq: number): void;
  /**
   * Whether the attempt assigned at `assignedSeq` (the chunk's sequence in its launch message)
   * was given up by a loss. Unknown (a record from an agent that did not keep it): false, and
   * the chunk's own state decides.
   */
  givesUp(assignedSeq: number | undefined): boolean;
}

/** A fence that knows no loss yet. */
export function createLossFence(): LossFence {
  let seq = 0;
  return {
    get seq() {
      return seq;
    },
    raise(s) {
      seq = Math.max(seq, s);
    },
    givesUp: (assignedSeq) => assignedSeq !== undefined && assignedSeq < seq,
  };
}

/** The sequence of the last `node.lost` in a node's history, 0 when it was never lost. Pure. */
export function lastLossSeq(
  history: readonly { type: string; recorded: { seq: number } }[],
): number {
  let seq = 0;
  for (const e of history) if (e.type === 'node.lost') seq = Math.max(seq, e.recorded.seq);
  return seq;
}
