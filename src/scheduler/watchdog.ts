import { stateName } from '../actors/index.js';
import type { FarmIndex } from './farm-index.js';
import { meta, type Action, type RuleContext } from './rules.js';

/** What the scheduler has heard from the agents (local receive times, by node). */
export interface Heard {
  readonly at: ReadonlyMap<string, number>;
  /** The incarnation (agent run) the node's last heartbeat came from. */
  readonly incarnations: ReadonlyMap<string, string>;
  /** Whether the node's last heartbeat said its agent is draining (stopping: it takes no work). */
  readonly draining: ReadonlyMap<string, boolean>;
  readonly workers: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * When this watch first saw each node's current incarnation in the log, for incarnations not
   * heard from yet (kept across ticks).
   */
  readonly firstSeen: Map<string, { incarnation: string; at: number }>;
  /** Since when each worker has been missing from its node's heartbeats (kept across ticks). */
  readonly missingSince: Map<string, number>;
  /** When the scheduler started listening: nodes never heard from count from then. */
  readonly since: number;
}

/**
 * One watchdog tick over every known node (pure but for `missingSince`): a node silent for
 * `lostAfterMs` is lost; on a live node, workers it no longer reports are hung; a draining node
 * with nothing left running is drained.
 */
export function watchNodes(
  ctx: RuleContext,
  index: FarmIndex,
  heard: Heard,
  lostAfterMs: number,
): Action[] {
  const out: Action[] = [];
  for (const id of index.nodes) {
    const n = ctx.peek.node(id);
    const state = n ? stateName(n) : 'none';
    if (['lost', 'offline', 'none'].includes(state)) continue;
    const incarnation = n?.context.incarnation ?? '';
    const last = lastSignOfLife(heard, id, incarnation, ctx.now);
    if (ctx.now - last > lostAfterMs) {
      out.push(
        ...nodeLostActions(
          ctx,
          id,
          index.liveOn(id),
          `no heartbeat for ${Math.round((ctx.now - last) / 1000)} s`,
        ),
      );
      continue;
    }
    const reported = heard.workers.get(id);
    if (reported) {
      // Only chunks running by the index and missing from the heartbeat need their folded state.
      const suspects: string[] = [];
      for (const [chunk, e] of index.liveEntriesOn(id)) {
        if (e.state === 'running' && e.worker !== undefined && !reported.has(e.worker))
          suspects.push(chunk);
        else if (e.worker !== undefined && heard.missingSince.size > 0)
          heard.missingSince.delete(e.worker);
      }
      out.push(...hungActions(ctx, id, suspects, reported, heard.missingSince, lostAfterMs));
    }
    if (agentDraining(heard, id, incarnation) && (state === 'ready' || state === 'cordoned')) {
      // Its agent is stopping and takes no work from its queue: a launch placed there would wait
      // for an agent that is gone. Drain the node in the log, so placement passes it over.
      const command = {
        type: 'RequestDrain' as const,
        ...meta(ctx, `agent-draining:${id}@${ctx.now}`),
        // Scoped to this incarnation: the agent's next life lifts it (an operator's drain stays).
        data: {
          reason: 'its agent is stopping (draining): no new work',
          ...(incarnation && { incarnation }),
        },
      };
      out.push({ entity: 'node', id, command });
    }
    if (state === 'draining' && index.liveOn(id).length === 0) {
      const command = {
        type: 'ConfirmDrained' as const,
        id: `drained:${id}@${ctx.now}`,
        at: ctx.now,
        by: ctx.by,
      };
      out.push({ entity: 'node', id, command });
    }
  }
  return out;
}

/**
 * When node `id`'s current incarnation last showed life. A heartbeat counts only for the
 * incarnation that sent it: an agent registers, reconciles and turns ready before its first
 * beat, and that gap (long on a loaded machine) once made a freshly registered node lost at the
 * next tick, counted from the watch's start or from the last beat of the agent it replaces.
 * An incarnation not heard from yet counts from when this watch first saw it (mutates
 * `firstSeen`), and never from before the watch started.
 */
function lastSignOfLife(heard: Heard, id: string, incarnation: string, now: number): number {
  const at = heard.at.get(id);
  const beatOf = heard.incarnations.get(id);
  if (at !== undefined && (beatOf === incarnation || beatOf === '')) {
    heard.firstSeen.delete(id);
    return at;
  }
  const seen = heard.firstSeen.get(id);
  if (seen?.incarnation === incarnation) return seen.at;
  heard.firstSeen.set(id, { incarnation, at: now });
  return Math.max(now, heard.since);
}

/** Whether the last heartbeat of node `id`'s current incarnation said it drains. */
function agentDraining(heard: Heard, id: string, incarnation: string): boolean {
  const beatOf = heard.incarnations.get(id);
  return heard.draining.get(id) === true && (beatOf === incarnation || beatOf === '');
}

/**
 * A lost node: every attempt live on it failed with `NodeLost`, unconfirmed (its process may
 * still run; the attempt number fences it off), and its worker marked lost. Pure.
 */
export function nodeLostActions(
  ctx: RuleContext,
  node: string,
  liveChunks: readonly string[],
  reason: string,
): Action[] {
  const out: Action[] = [
    {
      entity: 'node',
      id: node,
      command: { type: 'MarkLost', ...meta(ctx, `lost:${node}@${ctx.now}`), data: { reason } },
    },
  ];
  for (const id of liveChunks) {
    const chunk = ctx.peek.chunk(id);
    if (!chunk || !chunk.context.worker) continue;
    const { attempt, worker } = chunk.context;
    const m = meta(ctx, `node-lost:${worker}`);
    out.push({
      entity: 'worker',
      id: worker,
      command: { type: 'MarkLost', ...m, data: { cause: 'NodeLost', reason } },
    });
    if (stateName(chunk) === 'cancelling') continue; // a cancel waits for the process to be confirmed stopped
    out.push({
      entity: 'chunk',
      id,
      command: {
        type: 'ReportAttemptFailed',
        ...meta(ctx, `node-lost:${worker}:chunk`), // ids are unique stream-wide
        data: { attempt, cause: 'NodeLost', message: reason, confirmed: false },
      },
    });
  }
  return out;
}

/**
 * Hung workers: running, by the log, on a node whose agent is alive but no longer reports them
 * for `afterMs`. The agent is told to kill them (if it still has them), the worker is marked lost
 * and the attempt failed, unconfirmed, so the chunk is retried; it is the farm's fault, so the
 * user's retries are not spent. `missingSince` is the caller's memory across watchdog ticks.
 */
export function hungActions(
  ctx: RuleContext,
  node: string,
  liveChunks: readonly string[],
  reported: ReadonlySet<string>,
  missingSince: Map<string, number>,
  afterMs: number,
): Action[] {
  const out: Action[] = [];
  for (const id of liveChunks) {
    const chunk = ctx.peek.chunk(id);
    const worker = chunk?.context.worker;
    if (!chunk || !worker || stateName(chunk) !== 'running' || reported.has(worker)) {
      if (worker) missingSince.delete(worker);
      continue;
    }
    const since = missingSince.get(worker) ?? ctx.now;
    missingSince.set(worker, since);
    if (ctx.now - since < afterMs) continue;
    missingSince.delete(worker);
    const reason = `its agent on ${node} stopped reporting it for ${Math.round((ctx.now - since) / 1000)} s (hung)`;
    const m = meta(ctx, `hung:${worker}`);
    const mc = meta(ctx, `hung:${worker}:chunk`);
    out.push({ entity: 'kill', node, worker, reason: 'hung' });
    out.push({
      entity: 'worker',
      id: worker,
      command: { type: 'MarkLost', ...m, data: { cause: 'AgentRestarted', reason } },
    });
    out.push({
      entity: 'chunk',
      id,
      command: {
        type: 'ReportAttemptFailed',
        ...mc,
        data: {
          attempt: chunk.context.attempt,
          cause: 'AgentRestarted',
          message: reason,
          confirmed: false,
        },
      },
    });
  }
  return out;
}
