import { reservationBehaviour, stateName, type ReservationSnapshot } from '../actors/index.js';
import { ErrorCodes, SchedulerError, type ReservationSpec } from '../events/index.js';
import {
  DAY_MS,
  WEEK_MS,
  heldNodes,
  reachesInto,
  windowAt,
  type NodeState,
} from '../policy/index.js';
import { actorOf, metaOf, requireAdmin, type ApiContext, type Handler } from './api-context.js';
import { RequestSchemas, parseRequest, type ReservationCreateRequest } from './protocol.js';
import type { ReadModel } from './read-model.js';
import { nodeList } from './views.js';

/** A reservation as `reservation list` shows it (CONTRACT "Capacity"). */
export interface ReservationRow {
  name: string;
  start: string;
  end: string;
  /** The window open now or next (equals start/end but for daily and weekly ones). */
  next?: { start: string; end: string };
  nodes: string[];
  amount?: { cpus: number; memMb: number; gpus: number };
  users: string[];
  flags: string[];
  state: 'waiting' | 'active' | 'ended';
}

const bad = (message: string) => new SchedulerError(ErrorCodes.BadInput, message);

function isoMs(field: string, value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(value))
    throw bad(`${field}: ${value} is not an ISO 8601 time (2026-12-05T08:00:00Z)`);
  return ms;
}

/** The spec of a create request, every rule checked with the field named (BAD_INPUT). */
export function reservationSpecOf(r: ReservationCreateRequest): ReservationSpec {
  const start = isoMs('start', r.start);
  const end = isoMs('end', r.end);
  if (end <= start) throw bad(`end: ${r.end} is not after start ${r.start}`);
  const flags = [...new Set(r.flags ?? [])];
  if (flags.includes('daily') && flags.includes('weekly'))
    throw bad('flags: daily and weekly exclude each other');
  if (flags.includes('daily') && end - start > DAY_MS)
    throw bad('end: a daily window lasts at most 24 h');
  if (flags.includes('weekly') && end - start > WEEK_MS)
    throw bad('end: a weekly window lasts at most 7 days');
  const nodes = [...new Set(r.nodes ?? [])];
  const amount =
    r.cpus !== undefined || r.memMb !== undefined || r.gpus !== undefined
      ? { cpus: r.cpus ?? 0, memMb: r.memMb ?? 0, gpus: r.gpus ?? 0 }
      : undefined;
  if (nodes.length > 0 === (amount !== undefined))
    throw bad('nodes: give either nodes or an amount (cpus, mem, gpus), not both and not neither');
  if (amount && amount.cpus + amount.memMb + amount.gpus === 0)
    throw bad('cpus: an amount must reserve something');
  return {
    name: r.name,
    start,
    end,
    nodes,
    ...(amount && { amount }),
    users: [...new Set(r.users)],
    flags,
  };
}

/** Nodes as the policy sees them, from the read model (for amounts and conflicts). */
function policyNodes(model: ReadModel): NodeState[] {
  return nodeList(model).map((n): NodeState => ({
    id: n.id,
    state: n.state as NodeState['state'],
    capacity: { cpus: n.cpus, memMb: n.memMb, gpus: n.gpus },
    used: n.used,
    labels: n.labels,
  }));
}

/**
 * Running jobs on the reserved nodes that could still run when the window opens (by their time
 * limit; none: forever): what `ignore-jobs` lets a reservation be created over.
 */
function conflicts(ctx: ApiContext, spec: ReservationSpec, held: readonly string[], now: number) {
  const on = new Set(held);
  const jobs = new Set<string>();
  for (const [chunk, node] of ctx.live.model.liveChunks) {
    if (!on.has(node)) continue;
    const jobId = chunk.slice(0, chunk.lastIndexOf(':'));
    const job = ctx.live.model.jobs.get(jobId)?.context;
    if (!job?.spec) continue;
    const started = job.startedAt ?? now;
    const left =
      job.spec.timeoutS !== undefined ? started + job.spec.timeoutS * 1000 - now : Infinity;
    if (reachesInto(spec, now, Math.max(0, left))) jobs.add(jobId);
  }
  return [...jobs].sort();
}

/**
 * `drover.api.reservation.create` (admins): validate, refuse unknown nodes, refuse (REFUSED)
 * when running jobs on its nodes could still run when it opens unless `ignore-jobs`, then
 * `CreateReservation` through the machine. Answers `{ name }` once the read model holds it.
 */
export const reservationCreate: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'reservation create');
  const r = parseRequest(
    'reservation create request',
    RequestSchemas['reservation.create'],
    req.body,
  );
  const spec = reservationSpecOf(r);
  const model = ctx.live.model;
  const unknown = spec.nodes.filter((n) => !model.nodes.has(n));
  if (unknown.length > 0)
    throw new SchedulerError(ErrorCodes.NotFound, `nodes: unknown node ${unknown.join(', ')}`);
  const now = ctx.clock();
  const held = heldNodes(spec, policyNodes(model));
  const busy = spec.flags.includes('ignore-jobs') ? [] : conflicts(ctx, spec, held, now);
  if (busy.length > 0) {
    throw new SchedulerError(
      ErrorCodes.Refused,
      `running jobs on its nodes could still run when it opens: ${busy.slice(0, 10).join(', ')} (flag ignore-jobs to create it anyway)`,
      { details: { jobs: busy } },
    );
  }
  const out = await ctx.runtime.execute(reservationBehaviour, spec.name, {
    type: 'CreateReservation',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'reservation-create'),
    data: { reservation: spec },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  return { name: spec.name };
};

/** `drover.api.reservation.delete` (admins): NOT_FOUND unless it exists and is not deleted. */
export const reservationDelete: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'reservation delete');
  const r = parseRequest(
    'reservation delete request',
    RequestSchemas['reservation.delete'],
    req.body,
  );
  const loaded = await ctx.runtime.load(reservationBehaviour, r.name);
  if (stateName(loaded.state) !== 'active')
    throw new SchedulerError(ErrorCodes.NotFound, `no reservation ${r.name}`);
  const out = await ctx.runtime.execute(reservationBehaviour, r.name, {
    type: 'DeleteReservation',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'reservation-delete'),
    data: r.reason !== undefined ? { reason: r.reason } : {},
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  return { name: r.name, deleted: true };
};

/** One reservation as a row of `reservation list` at `now`. Pure. */
export function reservationRow(
  s: ReservationSnapshot,
  nodes: readonly NodeState[],
  now: number,
): ReservationRow | undefined {
  const spec = s.context.spec;
  if (!spec || stateName(s) !== 'active') return undefined;
  const w = windowAt(spec, now);
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    name: spec.name,
    start: iso(spec.start),
    end: iso(spec.end),
    ...(w && w.start !== spec.start && { next: { start: iso(w.start), end: iso(w.end) } }),
    nodes: heldNodes(spec, nodes),
    ...(spec.amount && { amount: spec.amount }),
    users: [...spec.users],
    flags: [...spec.flags],
    state: !w ? 'ended' : w.start <= now ? 'active' : 'waiting',
  };
}

/** Every reservation of a read model not deleted, as rows at `now`, by start then name. Pure. */
export function reservationRows(model: ReadModel, now: number): ReservationRow[] {
  const nodes = policyNodes(model);
  const rows: ReservationRow[] = [];
  for (const s of model.reservations.values()) {
    const row = reservationRow(s, nodes, now);
    if (row) rows.push(row);
  }
  return rows.sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : a.name < b.name ? -1 : 1,
  );
}

/** `drover.api.reservation.list`: every reservation not deleted, by start then name. */
export const reservationList: Handler = async (ctx, req) => {
  parseRequest('reservation list request', RequestSchemas['reservation.list'], req.body);
  return { reservations: reservationRows(ctx.live.model, ctx.clock()) };
};

/**
 * Refuse `submit --reservation NAME` up front when the reservation does not exist (BAD_INPUT,
 * field named) or the job's user is not one of its users (FORBIDDEN): such a job would wait
 * forever. A reservation deleted later keeps the job waiting with a `Reservation` reason.
 */
export function refuseBadReservation(
  ctx: ApiContext,
  spec: { user: string; reservation?: string },
): void {
  if (spec.reservation === undefined) return;
  const s = ctx.live.model.reservations.get(spec.reservation);
  if (!s?.context.spec || stateName(s) !== 'active')
    throw bad(`reservation: no reservation ${spec.reservation}`);
  if (!s.context.spec.users.includes(spec.user)) {
    throw new SchedulerError(
      ErrorCodes.Forbidden,
      `reservation: ${spec.user} is not a user of ${spec.reservation}`,
    );
  }
}
