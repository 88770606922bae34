import fc from 'fast-check';
import {
  AlertRuleIdSchema,
  chunkId,
  eventCatalog,
  workerId,
  type Actor,
  type DroverEvent,
  type Entity,
  type EventData,
  type EventOf,
  type EventType,
  type JobSpec,
  type Resources,
  RUNBOOK_OPS,
} from '../../src/events/index.js';
import { calendarArb } from './calendar-arbitraries.js';
import { reservationSpecArb } from './reservation-arbitraries.js';
import { runbookArb } from './runbook-arbitraries.js';
import { policyDataArbs } from './policy-event-arbitraries.js';
import { runDataArb, taskNameArb, workflowArb } from './pipeline-arbitraries.js';

/**
 * fast-check arbitraries for the whole event vocabulary. Every value they produce is a fixed
 * point of its zod schema (`schema.parse(e)` deep-equals `e`); `codec.prop.test.ts` checks that,
 * so these cannot drift from `src/events`. Optional fields are present or absent (never
 * `undefined`), strings are unicode (well-formed: lone surrogates are not text), numbers reach
 * their bounds (0 and the maximum each schema allows).
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Cut to at most `max` UTF-16 units (zod's `.max` counts those) without splitting a pair. */
function clampUnits(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

const anyText = fc.oneof(
  fc.string({ unit: 'grapheme-ascii' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
);

/** Unicode text of exactly `max` UTF-16 units, built from a short random seed. */
function textAtMax(max: number): fc.Arbitrary<string> {
  return fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }).map((seed) => {
    const filled = clampUnits(seed.repeat(Math.ceil(max / seed.length)), max);
    return filled.padEnd(max, 'x');
  });
}

/** Unicode text of `min`..`max` UTF-16 units; short mostly, sometimes exactly `max`. */
export function textArb(max: number, min = 0): fc.Arbitrary<string> {
  const short = anyText.map((s) => clampUnits(s, max)).filter((s) => s.length >= min);
  return fc.oneof({ weight: 12, arbitrary: short }, { weight: 1, arbitrary: textAtMax(max) });
}

/** `fc.record` of plain objects (events are plain: no null prototypes), `requiredKeys` optional. */
function rec<T, K extends keyof T = keyof T>(
  model: { [P in keyof T]: fc.Arbitrary<T[P]> },
  requiredKeys?: K[],
) {
  return fc.record<T, K>(
    model,
    requiredKeys ? { requiredKeys, noNullPrototype: true } : { noNullPrototype: true },
  );
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('');

/** Entity ids: one NATS subject token of `[A-Za-z0-9_-]`, 1..128 long. */
export const entityIdArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 12 }),
  },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 128, maxLength: 128 }),
  },
);

const stepIndexArb = fc.integer({ min: 0, max: 1000 });
const stepIdArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
const indexArb = fc.oneof(fc.integer({ min: 0, max: 999_999 }), fc.constant(0));
const attemptArb = fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: MAX_SAFE }));
const natArb = fc.oneof(fc.nat(), fc.integer({ min: 0, max: MAX_SAFE }));
const posIntArb = fc.integer({ min: 1, max: MAX_SAFE });
const anyIntArb = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: MAX_SAFE });
/** Finite, non-negative and never `-0` (msgpack has no negative zero). */
const nonNegDoubleArb = fc.oneof(
  fc.double({ min: 0, max: Number.MAX_VALUE, noNaN: true }),
  fc.constantFrom(0, 1.5, 4096),
);
const posIntUpTo = (max: number) => fc.oneof(fc.integer({ min: 1, max }), fc.constant(max));

/** Record keys: msgpackr renames a `__proto__` key and zod drops it, so it is not a key. */
function keyArb(max: number): fc.Arbitrary<string> {
  return textArb(max, 1).filter((k) => k !== '__proto__');
}

function dictArb(keyMax: number, valueMax: number): fc.Arbitrary<Record<string, string>> {
  return fc.dictionary(keyArb(keyMax), textArb(valueMax), { maxKeys: 4, noNullPrototype: true });
}

/** A list of `min`..`min+4` items, or sometimes exactly `max` of them (made of `bulk` items). */
function listArb<T>(
  item: fc.Arbitrary<T>,
  min: number,
  max: number,
  bulk = item,
): fc.Arbitrary<T[]> {
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc.array(item, { minLength: min, maxLength: Math.min(max, min + 4) }),
    },
    { weight: 1, arbitrary: fc.array(bulk, { minLength: max, maxLength: max }) },
  );
}

/** JSON-safe values: what `JSON.parse` could return, minus `-0` and `__proto__` keys. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export const jsonValueArb: fc.Arbitrary<JsonValue> = fc.letrec<{
  value: JsonValue;
  leaf: JsonValue;
  array: JsonValue[];
  object: { [k: string]: JsonValue };
}>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    anyIntArb,
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    textArb(64),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(keyArb(32), tie('value'), { maxKeys: 4, noNullPrototype: true }),
})).value;

export const actorArb: fc.Arbitrary<Actor> = rec(
  {
    kind: fc.constantFrom('user', 'admin', 'scheduler', 'agent', 'system'),
    id: textArb(128, 1),
    epoch: natArb,
  },
  ['kind', 'id'],
);

const cpusArb = fc.oneof(
  fc.double({ min: Number.MIN_VALUE, max: 4096, noNaN: true }),
  fc.constantFrom(1, 4096),
);
const memMbArb = posIntUpTo(64 * 1024 * 1024);
const gpusArb = fc.oneof(fc.integer({ min: 0, max: 256 }), fc.constantFrom(0, 256));

export const resourcesArb: fc.Arbitrary<Resources> = rec({
  cpus: cpusArb,
  memMb: memMbArb,
  gpus: gpusArb,
});

/** The provenance of a `--mem auto` figure (`memSizing` of `job.submitted`). */
const memSizingArb = rec(
  {
    mode: fc.constant('auto' as const),
    memMb: memMbArb,
    source: fc.constantFrom('history' as const, 'fallback' as const),
    name: textArb(200, 1),
    decidedAt: fc.nat(),
    rule: rec({
      windowDays: fc.integer({ min: 1, max: 3650 }),
      lastRuns: fc.integer({ min: 1, max: 1000 }),
      headroom: fc.double({ min: 1, max: 100, noNaN: true }),
      stepMb: fc.integer({ min: 1, max: 1_048_576 }),
    }),
    runs: listArb(
      rec({
        worker: textArb(300),
        at: fc.nat(),
        peakMb: fc.double({ min: 0, max: 1e9, noNaN: true }),
        cause: textArb(64),
      }),
      0,
      30,
    ),
    peakMb: fc.double({ min: 0, max: 1e9, noNaN: true }),
    peakWorker: textArb(300),
    fallback: fc.constantFrom('name default' as const, 'submit default' as const),
    message: textArb(2000),
  },
  ['mode', 'memMb', 'source', 'name', 'decidedAt', 'rule', 'runs', 'message'],
);

/** A normalised job spec (every default filled in), as `job.submitted` v2 carries it. */
export const jobSpecArb: fc.Arbitrary<JobSpec> = rec(
  {
    name: textArb(200, 1),
    user: textArb(64, 1),
    pool: textArb(64, 1),
    command: listArb(textArb(16_384), 1, 4096, fc.string({ maxLength: 8 })),
    cpus: cpusArb,
    memMb: memMbArb,
    gpus: gpusArb,
    chunks: posIntUpTo(1_000_000),
    retries: fc.integer({ min: 0, max: 100 }),
    timeoutS: posIntUpTo(365 * 24 * 3600),
    after: listArb(entityIdArb, 0, 1000),
    parent: entityIdArb,
    labels: dictArb(63, 253),
    excludeNodes: listArb(entityIdArb, 0, 1000),
    priority: fc.integer({ min: -1_000_000, max: 1_000_000 }),
    env: dictArb(256, 65_536),
    cwd: textArb(4096, 1),
    memSizing: memSizingArb,
  },
  [
    'name',
    'user',
    'pool',
    'command',
    'cpus',
    'memMb',
    'gpus',
    'chunks',
    'retries',
    'after',
    'labels',
    'excludeNodes',
    'priority',
    'env',
  ],
);

const failureCauseArb = fc.constantFrom(
  'Succeeded',
  'ExitNonZero',
  'Signaled',
  'OutOfMemory',
  'TimeLimit',
  'Cancelled',
  'NodeLost',
  'AgentRestarted',
  'LaunchFailed',
  'Preempted',
);
const jobFailureCauseArb = fc.oneof(failureCauseArb, fc.constant('DependencyFailed' as const));
const settledArb = fc.constantFrom('succeeded', 'failed', 'cancelled');
const empty = fc.constant({});
const alertDetailsArb = fc.dictionary(keyArb(100), jsonValueArb, {
  maxKeys: 4,
  noNullPrototype: true,
});
const reason = (max = 1000) => rec({ reason: textArb(max) });
const rejected = rec({ command: textArb(64), code: textArb(64), message: textArb(4000) });
const signalArb = textArb(16);
const usage = {
  peakRssMb: nonNegDoubleArb,
  cpuSeconds: nonNegDoubleArb,
  wallSeconds: nonNegDoubleArb,
};

const cellsArb = fc.integer({ min: 1, max: 10_000 });
const sessionDataArbs = {
  'session.opened': rec(
    {
      kind: fc.constantFrom('run' as const, 'alloc' as const),
      user: textArb(64, 1),
      command: listArb(textArb(16_384), 0, 4096),
      tty: fc.boolean(),
      cols: cellsArb,
      rows: cellsArb,
      cpus: cpusArb,
      memMb: memMbArb,
      nodes: fc.integer({ min: 1, max: 10_000 }),
      node: entityIdArb,
      alloc: entityIdArb,
      timeS: posIntUpTo(365 * 24 * 3600),
      jobId: entityIdArb,
    },
    ['kind', 'user', 'command', 'tty', 'cpus', 'memMb', 'nodes'],
  ),
  'session.placed': rec(
    {
      node: entityIdArb,
      worker: fc.tuple(entityIdArb, indexArb, attemptArb).map(([j, i, a]) => workerId(j, i, a)),
      pid: fc.nat(),
    },
    ['node'],
  ),
  'session.resized': rec({ cols: cellsArb, rows: cellsArb }),
  'session.stop_requested': reason(),
  'session.exited': rec({
    exitCode: fc.option(anyIntArb, { nil: null }),
    signal: fc.option(textArb(32), { nil: null }),
    message: textArb(4000),
  }),
} as const;

/** The `data` of every event type; a missing or mistyped entry fails to compile. */
const dataArbs: { [T in EventType]: fc.Arbitrary<EventData<T>> } = {
  'job.submitted': jobSpecArb,
  'job.queued': empty,
  'job.held': reason(),
  'job.released': rec({ reason: textArb(1000) }, []),
  'job.started': empty,
  'job.child_added': rec({ childId: entityIdArb }),
  'job.child_settled': rec({ childId: entityIdArb, state: settledArb, quiescent: fc.boolean() }),
  'job.child_quiesced': rec({ childId: entityIdArb }),
  'job.chunks_settled': rec({
    chunks: listArb(rec({ index: indexArb, state: settledArb, quiescent: fc.boolean() }), 1, 1000),
  }),
  'job.chunks_quiesced': rec({ indices: listArb(indexArb, 1, 1000) }),
  'job.priority_changed': rec(
    {
      priority: fc.integer({ min: -1_000_000, max: 1_000_000 }),
      reason: textArb(1000),
      global: fc.boolean(),
      delayed: listArb(entityIdArb, 0, 1000),
    },
    ['priority', 'reason', 'global'],
  ),
  'job.pending_noted': rec(
    {
      reasons: listArb(
        rec(
          {
            code: fc.constantFrom('Priority', 'Resources', 'Unsatisfiable', 'Held', 'Backoff'),
            message: textArb(2000),
            unblock: textArb(1000),
            details: fc.dictionary(fc.constantFrom('node', 'users', 'limit'), fc.integer(), {
              noNullPrototype: true,
            }),
          },
          ['code', 'message', 'unblock'],
        ),
        0,
        20,
      ),
      rank: natArb,
      queueLength: natArb,
      ahead: listArb(
        rec({
          user: textArb(64),
          dru: fc
            .double({ noNaN: true, min: 0, max: 1e6, noDefaultInfinity: true })
            .map((d) => d + 0),
        }),
        0,
        20,
      ),
    },
    ['reasons', 'ahead'],
  ),
  'job.succeeded': empty,
  'job.failed': rec({ cause: jobFailureCauseArb, message: textArb(4000), chunk: indexArb }, [
    'cause',
    'message',
  ]),
  'job.cancel_requested': reason(),
  'job.cancelled': empty,
  'job.results_cleared': empty,
  'job.command_rejected': rejected,
  'chunk.created': fc
    .record({ jobId: entityIdArb, total: posIntUpTo(1_000_000) })
    .chain(({ jobId, total }) =>
      fc.integer({ min: 0, max: total - 1 }).map((index) => ({ jobId, index, total })),
    ),
  'chunk.assigned': fc
    .record({
      jobId: entityIdArb,
      index: indexArb,
      attempt: attemptArb,
      node: entityIdArb,
      request: resourcesArb,
    })
    .map(({ jobId, index, attempt, node, request }) => ({
      attempt,
      node,
      worker: workerId(jobId, index, attempt),
      request,
    })),
  'chunk.started': rec({ attempt: attemptArb, pid: posIntArb }),
  'chunk.progressed': rec(
    {
      attempt: attemptArb,
      progress: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1)),
      checkpoint: textArb(65_536),
      message: textArb(1000),
    },
    ['attempt', 'progress'],
  ),
  'chunk.succeeded': rec({ attempt: attemptArb, result: jsonValueArb }, ['attempt']),
  'chunk.attempt_failed': rec(
    {
      attempt: attemptArb,
      cause: failureCauseArb,
      exitCode: anyIntArb,
      signal: signalArb,
      message: textArb(4000),
      confirmed: fc.boolean(),
    },
    ['attempt', 'cause', 'confirmed'],
  ),
  'chunk.retry_scheduled': rec({
    attempt: attemptArb,
    notBefore: natArb,
    request: resourcesArb,
    avoidNodes: listArb(entityIdArb, 0, 1000),
    countsAgainstRetries: fc.boolean(),
    reason: textArb(1000),
  }),
  'chunk.failed': rec({ cause: jobFailureCauseArb, message: textArb(4000) }),
  'chunk.cancel_requested': reason(),
  'chunk.cancelled': rec({ attempt: attemptArb, confirmed: fc.boolean() }, ['confirmed']),
  'chunk.process_stopped': rec({ attempt: attemptArb }),
  'chunk.result_rejected': rec({
    attempt: attemptArb,
    currentAttempt: natArb,
    state: textArb(64),
    reason: textArb(1000),
  }),
  'chunk.results_cleared': empty,
  'chunk.command_rejected': rejected,
  'worker.launching': rec(
    {
      jobId: entityIdArb,
      chunk: indexArb,
      attempt: attemptArb,
      node: entityIdArb,
      memLimitMb: posIntArb,
      timeoutS: posIntArb,
    },
    ['jobId', 'chunk', 'attempt', 'node', 'memLimitMb'],
  ),
  'worker.started': rec({ pid: posIntArb, pgid: posIntArb }),
  'worker.sampled': rec({
    rssMb: nonNegDoubleArb,
    peakRssMb: nonNegDoubleArb,
    cpuSeconds: nonNegDoubleArb,
  }),
  'worker.kill_requested': rec({
    reason: fc.constantFrom('cancel', 'out_of_memory', 'time_limit', 'hung', 'terminate'),
    signal: signalArb,
  }),
  'worker.exited': rec(
    {
      ...usage,
      exitCode: fc.option(anyIntArb, { nil: null }),
      signal: fc.option(signalArb, { nil: null }),
      cause: failureCauseArb,
      message: textArb(1000),
    },
    ['peakRssMb', 'cpuSeconds', 'wallSeconds', 'exitCode', 'signal', 'cause'],
  ),
  'worker.killed': rec({ ...usage, signal: signalArb, cause: failureCauseArb }),
  'worker.lost': rec({
    cause: fc.constantFrom('NodeLost', 'AgentRestarted'),
    reason: textArb(1000),
  }),
  'worker.readopted': rec({ pid: posIntArb }),
  'node.registered': rec({
    cpus: cpusArb,
    memMb: memMbArb,
    gpus: gpusArb,
    hostname: textArb(253, 1),
    labels: dictArb(63, 253),
    incarnation: textArb(200, 1),
  }),
  'node.ready': empty,
  'node.drain_requested': reason(),
  'node.drained': empty,
  'node.undrained': empty,
  'node.cordoned': reason(),
  'node.uncordoned': empty,
  'node.lost': rec({ reason: textArb(1000), lastHeartbeatAt: natArb }, ['reason']),
  'node.offline': reason(),
  'calendar.imported': rec({ version: posIntUpTo(10_000), calendar: calendarArb }),
  'reservation.created': rec({ reservation: reservationSpecArb }),
  'reservation.deleted': rec({ reason: textArb(1000) }, ['reason']),
  'alert.opened': rec({
    rule: fc.constantFrom(...AlertRuleIdSchema.options),
    key: textArb(200, 1),
    summary: textArb(1000, 1),
    details: alertDetailsArb,
  }),
  'alert.fired': rec({ summary: textArb(1000, 1), details: alertDetailsArb }),
  'alert.resolved': rec({ summary: textArb(1000, 1), details: alertDetailsArb }),
  'alert.withdrawn': reason(),
  'alert.acknowledged': rec({ note: textArb(1000) }, []),
  'alert.notified': rec(
    {
      event: fc.constantFrom('firing', 'resolved'),
      url: textArb(2000, 1),
      attempt: attemptArb,
      ok: fc.boolean(),
      status: anyIntArb,
      error: textArb(1000),
      retryInMs: natArb,
    },
    ['event', 'url', 'attempt', 'ok'],
  ),
  'runbook.started': rec({
    definition: runbookArb,
    args: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), textArb(4000), {
      noNullPrototype: true,
    }),
  }),
  'runbook.step_started': rec({ index: stepIndexArb, id: stepIdArb }),
  'runbook.answered': rec({
    index: stepIndexArb,
    id: stepIdArb,
    value: fc.oneof(textArb(4000), fc.boolean()),
    how: fc.constantFrom('terminal', 'flag', 'default'),
  }),
  'runbook.acted': rec(
    {
      index: stepIndexArb,
      id: stepIdArb,
      op: fc.constantFrom(...RUNBOOK_OPS),
      target: textArb(4000),
      ok: fc.boolean(),
      result: textArb(4000),
      error: rec({ code: textArb(64), message: textArb(4000) }),
    },
    ['index', 'id', 'op', 'target', 'ok'],
  ),
  'runbook.step_completed': rec(
    {
      index: stepIndexArb,
      id: stepIdArb,
      outcome: fc.constantFrom('done', 'skipped', 'timed_out'),
      note: textArb(4000),
    },
    ['index', 'id', 'outcome'],
  ),
  'runbook.finished': rec({
    outcome: fc.constantFrom('succeeded', 'aborted', 'failed'),
    reason: textArb(4000),
  }),
  ...sessionDataArbs,
  ...policyDataArbs,
  'workflow.applied': rec({ version: posIntUpTo(10_000), workflow: workflowArb }),
  'workflow.paused': rec({ reason: textArb(1000) }, []),
  'workflow.resumed': empty,
  'run.scheduled': runDataArb,
  'run.task_submitted': rec({ task: taskNameArb, jobId: taskNameArb }),
  'run.task_skipped': rec({
    task: taskNameArb,
    state: fc.constantFrom('skipped', 'upstream_failed' as const),
    reason: textArb(1000),
  }),
  'run.succeeded': empty,
  'run.failed': rec({ tasks: listArb(taskNameArb, 0, 200) }),
  'run.cancelled': empty,
  'run.skipped': reason(),
  'run.rerun_requested': rec(
    {
      rerun: posIntUpTo(1000),
      tasks: listArb(
        rec({
          task: taskNameArb,
          jobId: fc.option(taskNameArb, { nil: null }),
          state: fc.constantFrom('failed', 'succeeded', 'upstream_failed', 'skipped'),
        }),
        1,
        200,
      ),
      jobId: taskNameArb,
      reason: textArb(1000),
    },
    ['rerun', 'tasks', 'jobId'],
  ),
  'run.notified': rec(
    {
      key: textArb(300, 1),
      event: fc.constantFrom('retry', 'failure', 'success', 'missed'),
      task: taskNameArb,
      url: textArb(2000, 1),
      attempt: attemptArb,
      ok: fc.boolean(),
      status: anyIntArb,
      error: textArb(1000),
      retryInMs: natArb,
    },
    ['key', 'event', 'url', 'attempt', 'ok'],
  ),
  'promise.accepted': rec({
    jobId: fc.constantFrom('42', 'j-1'),
    user: fc.constantFrom('ada', 'bob'),
    startBy: fc.integer({ min: 0, max: 8.64e15 }),
    timeoutS: fc.integer({ min: 1, max: 31_536_000 }),
    request: rec({
      cpus: fc.integer({ min: 0, max: 64 }),
      memMb: fc.integer({ min: 0, max: 65_536 }),
      gpus: fc.integer({ min: 0, max: 8 }),
    }),
    booking: rec({
      node: fc.constantFrom('n1', 'node-2'),
      startAt: fc.integer({ min: 0, max: 8.64e15 }),
    }),
  }),
  'promise.kept': rec({
    startedSeq: fc.integer({ min: 1, max: 1_000_000 }),
    startedAt: fc.integer({ min: 0, max: 8.64e15 }),
    chunk: fc.constantFrom('42:0', 'j-1:3'),
  }),
  'promise.broken': rec({ why: textArb(1000).filter((s) => s.length > 0) }),
  'promise.preempted': rec({
    node: fc.constantFrom('n1', 'node-2'),
    victims: listArb(
      rec({
        jobId: fc.constantFrom('41', 'j-2'),
        chunk: fc.constantFrom('41:0', 'j-2:1'),
        worker: fc.constantFrom('41:0:1', 'j-2:1:3'),
        attempt: fc.integer({ min: 1, max: 100 }),
        user: fc.constantFrom('ada', 'bob'),
      }),
      1,
      64,
    ),
    why: textArb(1000).filter((s) => s.length > 0),
  }),
};

/** Envelope ids: uuids as the shells make them, or any text the schema allows. */
const eventIdArb = fc.oneof(fc.uuid(), textArb(200, 1));
const atArb = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
  fc.constantFrom(0, MAX_SAFE),
  natArb,
);

/** Events of one type at its current version, with `corr` and `cause` present or absent. */
export function eventArb<T extends EventType>(type: T): fc.Arbitrary<EventOf<T>> {
  const entry = eventCatalog.get(type);
  if (!entry) throw new Error(`no catalog entry for ${type}`);
  const data: fc.Arbitrary<EventData<T>> = dataArbs[type];
  return rec(
    {
      type: fc.constant(type),
      v: fc.constant(entry.v),
      id: eventIdArb,
      at: atArb,
      by: actorArb,
      data,
      corr: textArb(200),
      cause: eventIdArb,
    },
    ['type', 'v', 'id', 'at', 'by', 'data'],
  ) as unknown as fc.Arbitrary<EventOf<T>>;
}

/** Every event type of the catalog, in vocabulary order. */
export const allEventTypes: readonly EventType[] = [...eventCatalog.values()].map((e) => e.type);

function entityEventArb(entity: Entity): fc.Arbitrary<DroverEvent> {
  const types = [...eventCatalog.values()].filter((e) => e.entity === entity).map((e) => e.type);
  return fc.oneof(...types.map((t): fc.Arbitrary<DroverEvent> => eventArb(t)));
}

export const jobEventArb = entityEventArb('job');
export const chunkEventArb = entityEventArb('chunk');
export const workerEventArb = entityEventArb('worker');
export const nodeEventArb = entityEventArb('node');

/** Any event of the vocabulary, every type equally likely. */
export const anyEventArb: fc.Arbitrary<DroverEvent> = fc.oneof(
  ...allEventTypes.map((t): fc.Arbitrary<DroverEvent> => eventArb(t)),
);

/** Chunk ids as the scheduler derives them (`<jobId>:<index>`). */
export const chunkIdArb: fc.Arbitrary<string> = fc
  .tuple(entityIdArb, indexArb)
  .map(([job, index]) => chunkId(job, index));
