import type { ReservationFlag } from '../events/index.js';
import { isoTime } from './reasons.js';
import type { NodeState, PendingReason, ResourceVector } from './types.js';

/** A day and a week in ms: the periods of `daily` and `weekly` reservations. */
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/**
 * A reservation as the policy sees it: its first window `[start, end)` (ms), what it holds
 * (named nodes, or an amount held as whole nodes: `heldNodes`), whom it is for, its flags.
 */
export interface Reservation {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly nodes: readonly string[];
  readonly amount?: ResourceVector;
  readonly users: readonly string[];
  readonly flags: readonly ReservationFlag[];
}

/** One occurrence of a reservation's window, `[start, end)` in ms. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** The repeat period of a reservation (ms), or undefined for a single window. Pure. */
export function periodOf(r: Pick<Reservation, 'flags'>): number | undefined {
  if (r.flags.includes('daily')) return DAY_MS;
  if (r.flags.includes('weekly')) return WEEK_MS;
  return undefined;
}

/**
 * The window of `r` open at `now`, else the next one; undefined once a single window is over.
 * Occurrence k is `[start + k·period, end + k·period)`; the first with its end after `now` is
 * the one that matters (later ones start later still). Pure.
 */
export function windowAt(
  r: Pick<Reservation, 'start' | 'end' | 'flags'>,
  now: number,
): Window | undefined {
  if (now < r.end) return { start: r.start, end: r.end };
  const period = periodOf(r);
  if (period === undefined) return undefined;
  const k = Math.floor((now - r.end) / period) + 1;
  return { start: r.start + k * period, end: r.end + k * period };
}

/**
 * Whether a job started at `now` that may run `limitMs` (Infinity: no time limit, assumed to
 * run forever) would still run when a window of `r` is open. Pure.
 */
export function reachesInto(r: Reservation, now: number, limitMs: number): boolean {
  const w = windowAt(r, now);
  return w !== undefined && w.start < now + limitMs;
}

/**
 * The nodes `r` holds: its named nodes, or for an amount the fewest ready nodes in id order
 * whose capacity together covers it (whole nodes: a node is either reserved or not, so no job
 * of others shares a reserved node). Pure and deterministic for the same nodes.
 */
export function heldNodes(r: Reservation, nodes: readonly NodeState[]): string[] {
  if (!r.amount) return [...r.nodes];
  const want = r.amount;
  const got = { cpus: 0, memMb: 0, gpus: 0 };
  const out: string[] = [];
  const ready = nodes.filter((n) => n.state === 'ready').sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const n of ready) {
    if (got.cpus >= want.cpus && got.memMb >= want.memMb && got.gpus >= want.gpus) break;
    out.push(n.id);
    got.cpus += n.capacity.cpus;
    got.memMb += n.capacity.memMb;
    got.gpus += n.capacity.gpus;
  }
  return out;
}

/** What the gate needs of a job. */
export interface GateJob {
  readonly user: string;
  /** The job's time limit (s); none means it may run forever. */
  readonly timeoutS?: number;
  /** The reservation it was submitted into (`submit --reservation`). */
  readonly reservation?: string;
}

/**
 * The gate's verdict for one job at one time: `blocked` reasons when it may not start at all now
 * (its own window is not open), else the nodes it may not use and the `Reservation` reasons
 * that say why.
 */
export interface GateVerdict {
  readonly blocked: readonly PendingReason[];
  readonly exclude: readonly string[];
  /**
   * The reservations that keep the job off their nodes, with the window that does. Reasons are
   * built from them only for jobs that wait (`explain`): a verdict is cheap to make.
   */
  readonly keptOff: readonly { readonly r: HeldReservation; readonly w: Window }[];
  readonly limitMs: number;
}

/** A reservation with the nodes it holds this round. */
export interface HeldReservation extends Reservation {
  readonly held: readonly string[];
}

const OPEN: GateVerdict = { blocked: [], exclude: [], keptOff: [], limitMs: Infinity };
/** Reservations named in a job's reasons at most (the soonest windows; the rest are counted). */
const MAX_NAMED = 3;

function list(xs: readonly string[], max = 5): string {
  const head = xs.slice(0, max).join(', ');
  return xs.length > max ? `${head} and ${xs.length - max} more` : head;
}

/** `Reservation`: a window keeps this job off its nodes (names the window). Pure. */
export function reservationReason(r: HeldReservation, w: Window, limitMs: number): PendingReason {
  const limit = Number.isFinite(limitMs)
    ? `its time limit (${Math.round(limitMs / 1000)} s) would reach into it`
    : 'it has no time limit (assumed to run forever)';
  const repeat = periodOf(r) === DAY_MS ? ', daily' : periodOf(r) === WEEK_MS ? ', weekly' : '';
  return {
    code: 'Reservation',
    message: `nodes ${list(r.held)} are reserved by ${r.name} from ${isoTime(w.start)} to ${isoTime(w.end)}${repeat} for ${list(r.users)}; ${limit}`,
    unblock: `the window ends (${isoTime(w.end)}), or a time limit that ends before it starts`,
    details: { reservation: r.name, start: w.start, end: w.end, nodes: r.held, users: r.users },
  };
}

function ownWindow(
  job: GateJob,
  own: HeldReservation | undefined,
  now: number,
): GateVerdict | Window {
  const name = job.reservation!;
  const block = (message: string, unblock: string, details: Record<string, unknown> = {}) => ({
    ...OPEN,
    blocked: [
      {
        code: 'Reservation' as const,
        message,
        unblock,
        details: { reservation: name, ...details },
      },
    ],
  });
  if (!own)
    return block(
      `reservation ${name} does not exist or was deleted`,
      'resubmit without --reservation',
    );
  if (!own.users.includes(job.user))
    return block(
      `${job.user} is not a user of reservation ${name}`,
      `ask for ${name} to include ${job.user}`,
    );
  const w = windowAt(own, now);
  if (!w)
    return block(
      `the window of ${name} is over (${isoTime(own.end)})`,
      'resubmit without --reservation',
    );
  if (w.start > now)
    return block(
      `waits for its window ${name} from ${isoTime(w.start)}`,
      `the window opens (${isoTime(w.start)})`,
      { start: w.start, end: w.end },
    );
  return w;
}

/**
 * Decide where a job may start now, given the reservations (POLICY `Reservation`). Pure.
 * - A job submitted into a reservation starts only while its window is open, only on its nodes.
 * - Any other reservation keeps a job off its nodes when a window of it is open or would open
 *   before the job's time limit runs out (no time limit: forever), unless the job's user is one
 *   of its users and it is not a `maint` window (a maintenance window admits only jobs
 *   submitted into it).
 */
export function gateJob(
  job: GateJob,
  reservations: readonly HeldReservation[],
  now: number,
  nodeIds: readonly string[],
): GateVerdict {
  const limitMs = job.timeoutS !== undefined ? job.timeoutS * 1000 : Infinity;
  const exclude = new Set<string>();
  const keptOff: { r: HeldReservation; w: Window }[] = [];
  if (job.reservation !== undefined) {
    const own = reservations.find((r) => r.name === job.reservation);
    const w = ownWindow(job, own, now);
    if (!('start' in w)) return w;
    const inside = new Set(own!.held);
    for (const n of nodeIds) if (!inside.has(n)) exclude.add(n);
  }
  for (const r of reservations) {
    if (r.name === job.reservation) continue;
    if (r.users.includes(job.user) && !r.flags.includes('maint')) continue;
    if (!reachesInto(r, now, limitMs)) continue;
    for (const n of r.held) exclude.add(n);
    keptOff.push({ r, w: windowAt(r, now)! });
  }
  return exclude.size === 0 && keptOff.length === 0
    ? OPEN
    : { blocked: [], exclude: [...exclude], keptOff, limitMs };
}

/** A round's reservation gate: verdicts per job and the reasons merged with the round's. */
export interface ReservationGate {
  check(job: GateJob): GateVerdict;
  /**
   * The reasons of a waiting job with its verdict applied: the `Reservation` reasons first, and
   * an `Excluded` reason dropped when only the gate excluded its nodes (the user did not).
   */
  explain(verdict: GateVerdict, reasons: readonly PendingReason[]): PendingReason[];
}

/**
 * The gate of one round: the live reservations resolved to the nodes they hold now, verdicts
 * memoised per (user, time limit, reservation), so a queue of 10,000 jobs of a few kinds costs
 * a few verdicts, not 10,000 × reservations. Pure.
 */
export function reservationGate(
  reservations: readonly Reservation[],
  nodes: readonly NodeState[],
  now: number,
): ReservationGate {
  const live: HeldReservation[] = reservations
    .filter((r) => windowAt(r, now) !== undefined)
    .map((r) => ({ ...r, held: heldNodes(r, nodes) }));
  const ids = nodes.map((n) => n.id);
  const memo = new Map<string, GateVerdict>();
  const built = new WeakMap<GateVerdict, PendingReason[]>();
  const reasonsOf = (v: GateVerdict): PendingReason[] => {
    let out = built.get(v);
    if (!out) built.set(v, (out = verdictReasons(v)));
    return out;
  };
  return {
    check(job) {
      if (live.length === 0 && job.reservation === undefined) return OPEN;
      const key = `${job.user}\u0000${job.timeoutS ?? ''}\u0000${job.reservation ?? ''}`;
      let v = memo.get(key);
      if (!v) memo.set(key, (v = gateJob(job, live, now, ids)));
      return v;
    },
    explain(verdict, reasons) {
      if (verdict.exclude.length === 0) return [...reasons];
      const gated = new Set(verdict.exclude);
      const byGate = (r: PendingReason) =>
        r.code === 'Excluded' &&
        ((r.details?.excluded as string[] | undefined) ?? []).every((n) => gated.has(n));
      return [...reasonsOf(verdict), ...reasons.filter((r) => !byGate(r))];
    },
  };
}

/**
 * The `Reservation` reasons of a verdict: one per window that keeps the job off, the soonest
 * first, at most three named (the last says how many more). Pure.
 */
export function verdictReasons(v: GateVerdict): PendingReason[] {
  const sorted = [...v.keptOff].sort(
    (a, b) => a.w.start - b.w.start || (a.r.name < b.r.name ? -1 : 1),
  );
  const out = sorted.slice(0, MAX_NAMED).map(({ r, w }) => reservationReason(r, w, v.limitMs));
  const more = sorted.length - out.length;
  const last = out[out.length - 1];
  if (more > 0 && last) {
    out[out.length - 1] = {
      ...last,
      message: `${last.message}; and ${more} more reservations`,
      details: { ...last.details, more },
    };
  }
  return out;
}
