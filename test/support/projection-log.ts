import {
  currentVersion,
  eventSubject,
  type Actor,
  type Entity,
  type EventData,
  type EventType,
  type RecordedEvent,
} from '../../src/events/index.js';
import type { Projection } from '../../src/projections/index.js';

/**
 * A hand-written log for projection unit tests: `add(entity, id, at, type, data)` records an
 * event with the next sequence; `fold(p)` folds everything into `p` from zero.
 */
export function handLog() {
  const events: RecordedEvent[] = [];
  const by: Actor = { kind: 'scheduler', id: 's1', epoch: 1 };
  return {
    events,
    add<T extends EventType>(
      entity: Entity,
      id: string,
      at: number,
      type: T,
      data: EventData<T>,
      who: Actor = by,
    ) {
      const seq = events.length + 1;
      events.push({
        type,
        v: currentVersion(type),
        id: `e${seq}`,
        at,
        by: who,
        data,
        recorded: { subject: eventSubject(entity, id), seq },
      } as RecordedEvent);
      return seq;
    },
    fold<S>(p: Projection<S>): S {
      let s = p.initial();
      for (const e of events) s = p.apply(s, e);
      return s;
    },
  };
}

export const spec = (
  over: Partial<EventData<'job.submitted'>> = {},
): EventData<'job.submitted'> => ({
  name: 'render',
  user: 'ann',
  pool: 'default',
  command: ['x'],
  cpus: 2,
  memMb: 512,
  gpus: 0,
  chunks: 1,
  retries: 1,
  after: [],
  labels: {},
  excludeNodes: [],
  priority: 0,
  env: {},
  ...over,
});
