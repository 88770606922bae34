import { eventSubject, type Actor, type Entity, type RecordedEvent } from '../events/index.js';
import {
  arr,
  idOf,
  mapFromJson,
  mapToJson,
  num,
  obj,
  type Json,
  type Projection,
} from './projection.js';

/**
 * The audit index: per entity subject, the sequences of its events (in log order), and the
 * parent → child job links. Events themselves are not kept (a million of them would not fit
 * comfortably); the shell fetches them by sequence at query time (`projection-store.jetstream`).
 * Owned and mutated by `apply` (see `Projection`).
 */
export interface AuditState {
  seqs: Map<string, number[]>;
  children: Map<string, string[]>;
}

/** One line of `drover audit` (CONTRACT `audit` shape). */
export interface AuditEntry {
  seq: number;
  at: number;
  subject: string;
  type: string;
  by: Actor;
  data: unknown;
}

/** What an audit query must fetch: the sequences, in log order, of every subject it covers. */
export interface AuditPlan {
  readonly id: string;
  readonly found: boolean;
  readonly subjects: string[];
  readonly seqs: number[];
}

function link(s: AuditState, parent: string, child: string): void {
  const list = s.children.get(parent);
  if (!list) s.children.set(parent, [child]);
  else if (!list.includes(child)) list.push(child);
}

function apply(s: AuditState, e: RecordedEvent): AuditState {
  const subject = e.recorded.subject;
  const list = s.seqs.get(subject);
  if (list) list.push(e.recorded.seq);
  else s.seqs.set(subject, [e.recorded.seq]);
  if (e.type === 'job.child_added') link(s, idOf(subject), e.data.childId);
  else if (e.type === 'job.submitted' && e.data.parent !== undefined) {
    link(s, e.data.parent, idOf(subject));
  }
  return s;
}

/** Ascending sequences as deltas (a third of the bytes in a checkpoint). */
function deltas(seqs: readonly number[]): Json {
  const out: number[] = new Array<number>(seqs.length);
  let prev = 0;
  for (let i = 0; i < seqs.length; i++) {
    const x = seqs[i] as number;
    out[i] = x - prev;
    prev = x;
  }
  return out;
}

function undelta(j: Json): number[] {
  const xs = arr(j);
  const out: number[] = new Array<number>(xs.length);
  let prev = 0;
  for (let i = 0; i < xs.length; i++) out[i] = prev += num(xs[i]);
  return out;
}

/**
 * Index of every entity's events (by sequence) plus the job tree, for `drover audit`. Pure fold;
 * state owned (see `Projection`). Rejected commands and late results are events of their entity,
 * so they are in the index like any other.
 */
export const auditProjection: Projection<AuditState> = {
  name: 'audit',
  version: 1,
  initial: () => ({ seqs: new Map(), children: new Map() }),
  apply,
  snapshot: (s) => ({
    seqs: mapToJson(s.seqs, deltas),
    children: mapToJson(s.children, (c) => [...c]),
  }),
  restore: (j) => {
    const o = obj(j);
    return {
      seqs: mapFromJson(o.seqs, undelta),
      children: mapFromJson(o.children, (c) => arr(c).map(String)),
    };
  },
};

/**
 * The entity kinds an id may name: ids with `:` are chunks (one) or workers (two); others a job,
 * a node, a calendar, a reservation, an alert, a runbook run, a session, a workflow or a policy
 * domain (`fairshare`, `quotas`, `exclusions`) or a promise (named by its job's id); with `@`, a
 * run. Pure.
 */
export function entitiesOfId(id: string): Entity[] {
  const colons = id.split(':').length - 1;
  if (colons === 1) return ['chunk'];
  if (colons === 2) return ['worker'];
  if (id.includes('@')) return ['run'];
  return [
    'job',
    'node',
    'calendar',
    'reservation',
    'alert',
    'runbook',
    'session',
    'policy',
    'workflow',
    'promise',
  ];
}

function collectJob(s: AuditState, job: string, out: Set<string>, seen: Set<string>): void {
  if (seen.has(job)) return;
  seen.add(job);
  const own = eventSubject('job', job);
  if (s.seqs.has(own)) out.add(own);
  const chunkPrefix = eventSubject('chunk', `${job}:`);
  const workerPrefix = eventSubject('worker', `${job}:`);
  for (const subject of s.seqs.keys()) {
    if (subject.startsWith(chunkPrefix) || subject.startsWith(workerPrefix)) out.add(subject);
  }
  for (const child of s.children.get(job) ?? []) collectJob(s, child, out, seen);
}

/**
 * Which events `drover audit <id>` shows, as sequences in log order. Pure. For a job: the job,
 * its chunks `<job>:<i>`, their workers `<job>:<i>:<a>` and its child jobs, recursively (cycles
 * in a corrupt history are cut). For a chunk: the chunk and its workers. A worker or a node:
 * its own events.
 */
export function auditPlan(s: AuditState, id: string): AuditPlan {
  const subjects = new Set<string>();
  for (const entity of entitiesOfId(id)) {
    const subject = eventSubject(entity, id);
    if (entity === 'job') {
      if (s.seqs.has(subject) || s.children.has(id)) collectJob(s, id, subjects, new Set());
    } else if (s.seqs.has(subject)) subjects.add(subject);
    // A run's job is `<workflow>_<date>` for run `<workflow>@<date>`: its tree is the run's tasks.
    if (entity === 'run' && s.seqs.has(subject))
      collectJob(s, id.replace('@', '_'), subjects, new Set());
    if (entity === 'chunk') {
      const prefix = eventSubject('worker', `${id}:`);
      for (const k of s.seqs.keys()) if (k.startsWith(prefix)) subjects.add(k);
    }
  }
  const seqs: number[] = [];
  for (const subject of subjects) for (const q of s.seqs.get(subject) ?? []) seqs.push(q);
  seqs.sort((a, b) => a - b);
  return { id, found: subjects.size > 0, subjects: [...subjects].sort(), seqs };
}

/** Audit entries from fetched events, in log order (`events` in any order). Pure. */
export function auditEntries(events: readonly RecordedEvent[]): AuditEntry[] {
  return [...events]
    .sort((a, b) => a.recorded.seq - b.recorded.seq)
    .map((e) => ({
      seq: e.recorded.seq,
      at: e.at,
      subject: e.recorded.subject,
      type: e.type,
      by: e.by,
      data: e.data,
    }));
}

/** Fold-time helper for tests and small logs: the audit of `id` from events kept in memory. */
export function auditFrom(
  s: AuditState,
  id: string,
  bySeq: ReadonlyMap<number, RecordedEvent>,
): AuditEntry[] {
  const plan = auditPlan(s, id);
  return auditEntries(plan.seqs.flatMap((q) => bySeq.get(q) ?? []));
}
