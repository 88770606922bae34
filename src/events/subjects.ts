import { ENTITIES, type Entity } from './envelope.js';

/**
 * Subject names: the only place they are built (STYLE.md). One subject per entity, so the
 * entity's last sequence is the append condition. Pure.
 */
export const EVENTS_STREAM = 'DROVER_EVENTS';
export const EVENTS_PREFIX = 'drover.ev';

export function eventSubject(entity: Entity, id: string): string {
  return `${EVENTS_PREFIX}.${entity}.${id}`;
}

/** Wildcard for all events, or all events of one entity kind. */
export function eventWildcard(entity?: Entity): string {
  return entity ? `${EVENTS_PREFIX}.${entity}.*` : `${EVENTS_PREFIX}.>`;
}

/** Splits a subject back into its entity and id; undefined when it is not an event subject. */
export function parseEventSubject(subject: string): { entity: Entity; id: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== 'drover' || parts[1] !== 'ev') return undefined;
  const entity = parts[2] as Entity;
  if (!ENTITIES.includes(entity)) return undefined;
  return { entity, id: parts[3] as string };
}

/** Chunk ids derive from their job: `<jobId>:<index>`. */
export function chunkId(jobId: string, index: number): string {
  return `${jobId}:${index}`;
}

/** Worker ids name the attempt they run: `<jobId>:<index>:<attempt>`. */
export function workerId(jobId: string, index: number, attempt: number): string {
  return `${jobId}:${index}:${attempt}`;
}

export function parseChunkId(id: string): { jobId: string; index: number } {
  const at = id.lastIndexOf(':');
  return { jobId: id.slice(0, at), index: Number(id.slice(at + 1)) };
}

const KNOWN_ENTITIES: ReadonlySet<string> = new Set(ENTITIES);
const ENTITY_START = EVENTS_PREFIX.length + 1;

/**
 * The entity kind of an event subject (the replay hot path): one slice and a set lookup, no
 * split. The first letter alone no longer tells kinds apart (`chunk` and `calendar`).
 */
export function entityOfSubject(subject: string): Entity | undefined {
  const kind = subject.slice(ENTITY_START, subject.indexOf('.', ENTITY_START));
  return KNOWN_ENTITIES.has(kind) ? (kind as Entity) : undefined;
}

/** The durable work queue of node agents (scheduler → agent). */
export const WORK_STREAM = 'DROVER_WORK';
export const workSubject = (node: string): string => `drover.work.${node}`;
export const WORK_WILDCARD = 'drover.work.>';

/** Heartbeats of node agents (core NATS, not stored). */
export const heartbeatSubject = (node: string): string => `drover.hb.${node}`;
export const HEARTBEAT_WILDCARD = 'drover.hb.*';

/** The subject of a node agent's log server (the API asks it for a process's output). */
export const agentLogsSubject = (node: string): string => `drover.agent.${node}.logs`;

/**
 * Where the API asks a node agent to start a run inside an allocation it holds (`drover run
 * --alloc`): such a run takes the allocation's held resources, so it never enters the queue.
 */
export const agentSessionSubject = (node: string): string => `drover.agent.${node}.session`;

/** The durable intake of submissions (CONTRACT.md). */
export const INTAKE_STREAM = 'DROVER_INTAKE';
export const INTAKE_SUBJECT = 'drover.intake.submit';
/** Where rejected submissions are announced (CONTRACT.md), kept by the stream `DROVER_REJECTED`. */
export const REJECTED_STREAM = 'DROVER_REJECTED';
export const REJECTED_SUBJECT = 'drover.events.rejected';

/** The job id of the intake message at stream sequence `seq`: idempotent across re-deliveries. */
export const jobIdOfIntake = (seq: number): string => `j${seq}`;

/**
 * A session's bytes and controls (core NATS, never stored): `out` carries the command's output
 * and the agent's controls to the client, `in` carries stdin, credit and the client's heartbeat
 * (and resizes, from the API) to the agent.
 */
export const sessionOutSubject = (id: string): string => `drover.session.${id}.out`;
export const sessionInSubject = (id: string): string => `drover.session.${id}.in`;
