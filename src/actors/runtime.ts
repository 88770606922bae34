import {
  ConcurrencyError,
  InvalidTransitionError,
  eventSubject,
  parseEventSubject,
  type CorruptMessage,
  type Entity,
  type DroverEvent,
  type EventLog,
  type RecordedEvent,
} from '../events/index.js';
import type { Decision, EntityBehaviour } from './behaviour.js';
import type { CommandMeta } from './decision.js';
import type { CachePacker } from './packed-chunk.js';
import { RecentIdText, withIds, type RecentIds } from './recent-ids.js';

/** An entity as loaded: its folded state and the last sequence of its subject. */
export interface Loaded<S> {
  readonly state: S;
  readonly lastSeq: number;
  /**
   * Ids of the entity's most recent stored events (up to `RECENT_IDS`): a re-delivered command is
   * recognised by them. Older re-deliveries fall back to the log's duplicate window and the
   * machine's own rules.
   */
  readonly eventIds: RecentIds;
  /**
   * The highest scheduler epoch among the entity's events (0 when none): a command carrying an
   * older epoch comes from a deposed leader and is refused (fencing).
   */
  readonly epoch?: number;
}

/** The rejection code of a command from a deposed scheduler (its epoch is older than the entity's). */
export const STALE_EPOCH = 'StaleEpoch';

const epochOf = (e: { by: { epoch?: number | undefined } }) => e.by.epoch ?? 0;

/** Something in an entity's history that could not be folded; reported, then skipped. */
export type Anomaly =
  | { readonly kind: 'corrupt'; readonly message: CorruptMessage }
  | {
      readonly kind: 'rejected-by-machine';
      readonly event: RecordedEvent;
      readonly error: InvalidTransitionError;
    };

export type ExecuteResult<S> =
  | {
      readonly ok: true;
      readonly state: S;
      readonly events: readonly DroverEvent[];
      readonly lastSeq: number;
      readonly duplicates: number;
    }
  | {
      readonly ok: false;
      readonly state: S;
      readonly rejection: { readonly code: string; readonly message: string };
      readonly lastSeq: number;
    };

export interface EntityRuntimeOptions {
  readonly eventLog: EventLog;
  /** How many times a conflicting append is reloaded and decided again. */
  readonly maxAttempts?: number;
  /** Keep folded entities between commands (safe: a stale entry only costs a conflict). */
  readonly cache?: boolean;
  /** Told about histories that could not be folded entirely (the shell logs them). */
  readonly onAnomaly?: (subject: string, anomaly: Anomaly) => void;
  /**
   * Told when a read from the log replaced a cached entity (a conflict, a retried command, a
   * first load). Such a read may run ahead of the caller's tail, whose `observe` then skips the
   * events it already holds: this is the only word the caller gets of what they changed.
   */
  readonly onRefresh?: (entity: Entity, id: string, loaded: Loaded<unknown>) => void;
  /**
   * Told when `observe` meets an entity that is not cached with an event its initial state
   * refuses: a later event of an entity the caller let go of (`forget`), whose state only a read
   * of the log can give. Nothing is cached for it then; the caller reads it when it needs it.
   * Without this hook the event is folded from the initial state and reported as an anomaly.
   */
  readonly onMiss?: (entity: Entity, id: string, event: RecordedEvent) => void;
  /**
   * Compact forms of cached entities by kind (`createdChunkPacker`): the cache holds what a
   * packer takes as a number and rebuilds it on each read. For a cache of many alike entities
   * (the scheduler's queue); none by default.
   */
  readonly packers?: { readonly [E in Entity]?: CachePacker<unknown> };
}

export interface EntityRuntime {
  load<S, C>(behaviour: EntityBehaviour<S, C>, id: string): Promise<Loaded<S>>;
  /**
   * Load, decide, append with the entity's last sequence as the condition; on a conflict reload
   * and decide again (bounded). Rejections are results; audit events of a rejection are appended.
   */
  execute<S, C extends CommandMeta>(
    behaviour: EntityBehaviour<S, C>,
    id: string,
    command: C,
  ): Promise<ExecuteResult<S>>;
  /**
   * A fresh read of the entity from the log that leaves the cache as it is (and tells
   * `onRefresh` nothing): for a caller that must look before the entity is cached again.
   */
  read<S, C>(behaviour: EntityBehaviour<S, C>, id: string): Promise<Loaded<S>>;
  /** Forget cached entities (all, or one subject). */
  forget(subject?: string): void;
  /** How many entities are cached (all kinds). */
  cached(): number;
  /**
   * Seed the cache with an entity state known from elsewhere (a snapshot carried by a work
   * message, say). Safe: a stale seed only costs a conflict, then a fresh read.
   */
  prime<S, C>(behaviour: EntityBehaviour<S, C>, id: string, loaded: Loaded<S>): void;
  /**
   * Apply an event seen on the log's tail to the cached entity, if it is newer than what the
   * cache holds; returns the states before and after, or undefined when nothing changed (the
   * event was the runtime's own append, or the entity is not cached and `create` is false).
   */
  observe<S, C>(
    behaviour: EntityBehaviour<S, C>,
    id: string,
    event: RecordedEvent,
    create?: boolean,
  ): { before: S; after: S } | undefined;
  /** The cached state of an entity, if any (no read). */
  peek<S, C>(behaviour: EntityBehaviour<S, C>, id: string): Loaded<S> | undefined;
}

/**
 * The entity runtime: the only path by which Drover's own decisions reach the log. It never
 * appends an event its machine rejects, and never appends on a stale view (the expected
 * sequence makes the log refuse it; the runtime then reloads and decides again).
 */
/** How many recent event ids per entity are kept to recognise re-delivered commands. */
export const RECENT_IDS = 256;

/**
 * A recent-ids window with `added`, dropping the oldest beyond `RECENT_IDS`: kept as one string
 * (`RecentIdText`), not a Set per entity (the scheduler holds one per job and chunk of the farm).
 */
function remember(ids: RecentIds, added: readonly { id: string }[]): RecentIds {
  return withIds(
    ids,
    added.map((e) => e.id),
    RECENT_IDS,
  );
}

/** Folded entities by kind, then id; those a kind's packer takes are held as a number. */
function createEntityCache(packers: EntityRuntimeOptions['packers'] = {}) {
  const byKind = new Map<Entity, Map<string, Loaded<unknown> | number>>();
  const of = (entity: Entity) => {
    let m = byKind.get(entity);
    if (!m) byKind.set(entity, (m = new Map()));
    return m;
  };
  return {
    get: (entity: Entity, id: string): Loaded<unknown> | undefined => {
      const held = byKind.get(entity)?.get(id);
      return typeof held === 'number' ? packers[entity]!.unpack(id, held) : held;
    },
    set: (entity: Entity, id: string, loaded: Loaded<unknown>) =>
      void of(entity).set(id, packers[entity]?.pack(id, loaded) ?? loaded),
    delete: (entity: Entity, id: string) => void byKind.get(entity)?.delete(id),
    clear: () => byKind.clear(),
    size: () => [...byKind.values()].reduce((n, m) => n + m.size, 0),
  };
}

export function createEntityRuntime(opts: EntityRuntimeOptions): EntityRuntime {
  const { eventLog } = opts;
  const maxAttempts = opts.maxAttempts ?? 8;
  // Keyed by kind, then id: the scheduler peeks entities many times per event, and a subject
  // string built per lookup (then hashed) was a tenth of its CPU in the placement benchmark.
  const cache = createEntityCache(opts.packers);

  async function read<S, C>(behaviour: EntityBehaviour<S, C>, id: string): Promise<Loaded<S>> {
    const subject = eventSubject(behaviour.entity, id);
    const history = await eventLog.read(behaviour.entity, id);
    for (const message of history.corrupt) opts.onAnomaly?.(subject, { kind: 'corrupt', message });
    let state = behaviour.initial();
    const eventIds = remember(RecentIdText.EMPTY, history.events);
    for (const event of history.events) {
      try {
        state = behaviour.evolve(state, event);
      } catch (error) {
        if (!(error instanceof InvalidTransitionError)) throw error;
        opts.onAnomaly?.(subject, { kind: 'rejected-by-machine', event, error });
      }
    }
    const epoch = history.events.reduce((m, e) => Math.max(m, epochOf(e)), 0);
    return { state, lastSeq: history.lastSeq, eventIds, epoch };
  }

  async function readFresh<S, C>(behaviour: EntityBehaviour<S, C>, id: string): Promise<Loaded<S>> {
    const loaded = await read(behaviour, id);
    if (opts.cache) {
      const before = cache.get(behaviour.entity, id);
      cache.set(behaviour.entity, id, loaded);
      if (loaded.lastSeq > (before?.lastSeq ?? 0)) opts.onRefresh?.(behaviour.entity, id, loaded);
    }
    return loaded;
  }

  async function load<S, C>(behaviour: EntityBehaviour<S, C>, id: string): Promise<Loaded<S>> {
    const cached = opts.cache ? cache.get(behaviour.entity, id) : undefined;
    return (cached as Loaded<S> | undefined) ?? readFresh(behaviour, id);
  }

  async function execute<S, C extends CommandMeta>(
    behaviour: EntityBehaviour<S, C>,
    id: string,
    command: C,
  ): Promise<ExecuteResult<S>> {
    let current = await load(behaviour, id);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (current.eventIds.has(`${command.id}#0`)) {
        // Re-delivered after it was applied (event ids derive from the command id): done already.
        return {
          ok: true,
          state: current.state,
          events: [],
          lastSeq: current.lastSeq,
          duplicates: 1,
        };
      }
      const fence = current.epoch ?? 0;
      if (command.by.epoch !== undefined && command.by.epoch < fence) {
        const message = `${(command as { type?: string }).type ?? 'command'} refused: epoch ${command.by.epoch} is older than ${fence} (a newer scheduler leads)`;
        return {
          ok: false,
          state: current.state,
          rejection: { code: STALE_EPOCH, message },
          lastSeq: current.lastSeq,
        };
      }
      const decision: Decision = behaviour.decide(current.state, command);
      const toAppend = decision.ok ? decision.events : (decision.audit ?? []);
      if (toAppend.length === 0) {
        return decision.ok
          ? { ok: true, state: current.state, events: [], lastSeq: current.lastSeq, duplicates: 0 }
          : {
              ok: false,
              state: current.state,
              rejection: decision.rejection,
              lastSeq: current.lastSeq,
            };
      }
      const appended = await eventLog.append(behaviour.entity, id, toAppend, {
        expectedSeq: current.lastSeq,
      });
      if (!appended.ok) {
        current = await readFresh(behaviour, id);
        continue;
      }
      let state = current.state;
      for (const event of toAppend) state = behaviour.evolve(state, event);
      const lastSeq = appended.seqs[appended.seqs.length - 1] ?? current.lastSeq;
      if (appended.duplicates > 0) {
        // A retried command: what was stored first is the truth, so fold from the log.
        current = await readFresh(behaviour, id);
      } else {
        const eventIds = remember(current.eventIds, toAppend);
        const epoch = Math.max(fence, command.by.epoch ?? 0);
        current = { state, lastSeq, eventIds, epoch };
        if (opts.cache) cache.set(behaviour.entity, id, current);
      }
      return decision.ok
        ? {
            ok: true,
            state: current.state,
            events: toAppend,
            lastSeq: current.lastSeq,
            duplicates: appended.duplicates,
          }
        : {
            ok: false,
            state: current.state,
            rejection: decision.rejection,
            lastSeq: current.lastSeq,
          };
    }
    cache.delete(behaviour.entity, id);
    throw new ConcurrencyError(eventSubject(behaviour.entity, id), maxAttempts);
  }

  function observe<S, C>(
    behaviour: EntityBehaviour<S, C>,
    id: string,
    event: RecordedEvent,
    create = true,
  ): { before: S; after: S } | undefined {
    let current = cache.get(behaviour.entity, id) as Loaded<S> | undefined;
    const missing = !current;
    if (!current) {
      if (!create) return undefined;
      current = { state: behaviour.initial(), lastSeq: 0, eventIds: RecentIdText.EMPTY };
    }
    if (event.recorded.seq <= current.lastSeq) return undefined;
    let after = current.state;
    try {
      after = behaviour.evolve(current.state, event);
    } catch (error) {
      if (!(error instanceof InvalidTransitionError)) throw error;
      if (missing && opts.onMiss) {
        // Not an entity's first event: one the caller let go of, not a new one.
        opts.onMiss(behaviour.entity, id, event);
        return undefined;
      }
      opts.onAnomaly?.(eventSubject(behaviour.entity, id), {
        kind: 'rejected-by-machine',
        event,
        error,
      });
    }
    const eventIds = remember(current.eventIds, [event]);
    const epoch = Math.max(current.epoch ?? 0, epochOf(event));
    cache.set(behaviour.entity, id, { state: after, lastSeq: event.recorded.seq, eventIds, epoch });
    return { before: current.state, after };
  }

  return {
    load,
    execute,
    read,
    cached: () => cache.size(),
    forget: (subject) => {
      const where = subject === undefined ? undefined : parseEventSubject(subject);
      if (where) cache.delete(where.entity, where.id);
      else if (subject === undefined) cache.clear();
    },
    prime: (behaviour, id, loaded) => {
      cache.set(behaviour.entity, id, loaded);
    },
    observe,
    peek: (behaviour, id) => cache.get(behaviour.entity, id) as never,
  };
}
