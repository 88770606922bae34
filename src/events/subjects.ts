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
 * (and resizes, from the API) to the agent. Each subject names the session's user and the node
 * its process runs on, so the server can enforce who may read or type into it (nats.roles.conf:
 * a person only their own `drover.session.<user>.>`, an agent only `drover.session.*.<node>.>`).
 * The user token is `sessionUserToken(user)`. Pure.
 */
export const SESSION_PREFIX = 'drover.session';
export const sessionOutSubject = (user: string, node: string, id: string): string =>
  `${SESSION_PREFIX}.${sessionUserToken(user)}.${node}.${id}.out`;
export const sessionInSubject = (user: string, node: string, id: string): string =>
  `${SESSION_PREFIX}.${sessionUserToken(user)}.${node}.${id}.in`;
/**
 * What the client listens to before it knows where its session will run (placement happens
 * after it subscribes): its own user's `out` of the session on any node.
 */
export const sessionOutWildcard = (user: string, id: string): string =>
  `${SESSION_PREFIX}.${sessionUserToken(user)}.*.${id}.out`;

/** The node a session subject names (the token after the user); undefined for anything else. */
export function nodeOfSessionSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  if (parts.length !== 6 || `${parts[0]}.${parts[1]}` !== SESSION_PREFIX) return undefined;
  return parts[3];
}

/**
 * A user name as one subject token: names made of letters, digits, `_` and `-` (every NATS user
 * of nats.roles.conf) stay as they are, so a role's permission reads `drover.session.alice.>`;
 * anything else (`john.doe`, a space) is percent-encoded, so a dot never splits the token. Pure.
 */
export function sessionUserToken(user: string): string {
  if (user.length === 0) throw new Error('user: empty, a session needs its user');
  return user.replace(/[^A-Za-z0-9_-]/gu, (c) =>
    [...new TextEncoder().encode(c)]
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  );
}
