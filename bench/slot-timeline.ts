/**
 * Where a freed slot's time goes, from the `at`s of one attempt's events in the log. Pure, so
 * it is tested on made-up timelines (test/unit/bench/slot-timeline.test.ts).
 */
export interface AttemptTimes {
  readonly chunk: string;
  node?: string;
  /** chunk.assigned: the scheduler placed it. */
  assignedAt?: number;
  /** worker.launching: the agent took the work message. */
  launchingAt?: number;
  /** worker.started: the process runs. */
  startedAt?: number;
  /** worker.exited: the process ended (its slot is free from here on). */
  exitedAt?: number;
  /** chunk.succeeded/failed: the end is in the log, so the scheduler may reuse the slot. */
  endedAt?: number;
}

type Complete = Required<AttemptTimes>;
const complete = (a: AttemptTimes): a is Complete =>
  [a.node, a.assignedAt, a.launchingAt, a.startedAt, a.exitedAt, a.endedAt].every(
    (x) => x !== undefined,
  );

/** One turnover: the attempt whose exit freed the slot, and the attempt that took it. */
export interface Turnover {
  /** The freed attempt's start → its exit as the agent recorded it (process life + noticing). */
  readonly run: number;
  readonly report: number;
  readonly place: number;
  readonly deliver: number;
  readonly fork: number;
  readonly total: number;
}

/**
 * On a node of `slots` equal slots kept full, the i-th attempt placed there (i ≥ slots, by
 * assignment time) took the slot that the (i − slots)-th exit (by exit time) freed. Stages:
 * report = exit → end in the log (agent's report and appends); place = end → next assignment
 * (tail delivery, round, append); deliver = assignment → the agent takes the work message;
 * fork = launching → started. With a pipelining scheduler the next attempt is assigned before the
 * slot frees: `place` goes negative and `deliver` holds its wait in the agent's line; `total`
 * (exit → next start) keeps its meaning.
 */
export function turnovers(attempts: readonly AttemptTimes[], slots: number): Turnover[] {
  const byNode = new Map<string, Complete[]>();
  for (const a of attempts.filter(complete)) {
    byNode.set(a.node, [...(byNode.get(a.node) ?? []), a]);
  }
  const out: Turnover[] = [];
  for (const list of byNode.values()) {
    const placed = [...list].sort((a, b) => a.assignedAt - b.assignedAt);
    const exits = [...list].sort((a, b) => a.exitedAt - b.exitedAt);
    for (let i = slots; i < placed.length; i++) {
      const next = placed[i] as Complete;
      const freed = exits[i - slots] as Complete;
      out.push({
        run: freed.exitedAt - freed.startedAt,
        report: freed.endedAt - freed.exitedAt,
        place: next.assignedAt - freed.endedAt,
        deliver: next.launchingAt - next.assignedAt,
        fork: next.startedAt - next.launchingAt,
        total: next.startedAt - freed.exitedAt,
      });
    }
  }
  return out;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number) : NaN;
};

const mean = (xs: number[]) =>
  xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10 : NaN;

/**
 * p50/p99 and mean of each stage and of the whole exit → next start, in ms. Means add up (the
 * stages' means sum to the total's), percentiles do not: the means say where a slot's time goes,
 * and with `run` they make a slot's whole cycle (slots ÷ mean cycle ≈ the slot-bound rate).
 */
export function slotTurnarounds(attempts: readonly AttemptTimes[], slots: number) {
  const t = turnovers(attempts, slots);
  const stage = (k: keyof Turnover) => ({
    mean: mean(t.map((x) => x[k])),
    p50: pct(
      t.map((x) => x[k]),
      50,
    ),
    p99: pct(
      t.map((x) => x[k]),
      99,
    ),
  });
  return {
    turnovers: t.length,
    total: stage('total'),
    run: stage('run'),
    report: stage('report'),
    place: stage('place'),
    deliver: stage('deliver'),
    fork: stage('fork'),
  };
}
