import { randomUUID } from 'node:crypto';
import type { Actor, EventData, EventOf, EventType } from '../../src/events/index.js';
import { currentVersion } from '../../src/events/index.js';

export const testUser: Actor = { kind: 'user', id: 'alice' };

/** A unique entity id for one test (tests share a server per file). */
export function uid(prefix = 'T'): string {
  return `${prefix}${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

let clock = 1_700_000_000_000;

/** Build an event of the current version with a fresh id and a monotonic time. */
export function ev<T extends EventType>(
  type: T,
  data: EventData<T>,
  by: Actor = testUser,
): EventOf<T> {
  return { type, v: currentVersion(type), id: randomUUID(), at: clock++, by, data } as EventOf<T>;
}

export function jobSpec(
  over: Partial<EventData<'job.submitted'>> = {},
): EventData<'job.submitted'> {
  return {
    name: 'sim',
    user: 'alice',
    pool: 'default',
    command: ['true'],
    cpus: 1,
    memMb: 256,
    gpus: 0,
    chunks: 1,
    retries: 0,
    after: [],
    labels: {},
    excludeNodes: [],
    priority: 0,
    env: {},
    ...over,
  };
}
