import type { Subscription } from '@nats-io/transport-node';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { jobBehaviour, sessionBehaviour, stateName, type EntityRuntime } from '../actors/index.js';
import { agentSessionSubject, type LaunchWork } from '../events/index.js';
import { AllocHolds } from './alloc-holds.js';
import type { SessionHostOptions } from './session-host.service.js';
import {
  attachOf,
  stopSession,
  untilOpened,
  type SessionCommandFn as Command,
  type SessionMeta as Meta,
} from './session-parts.js';
import {
  launch,
  launchAttached,
  type AttachedIo,
  type LaunchSpec,
  type ProcessOutcome,
  type Supervised,
  type SupervisorHooks,
  type SupervisorOptions,
} from './supervisor/index.js';

/** The variable that marks a launch as an allocation's hold (set by the API, checked in the log). */
export const ALLOC_ENV = 'DROVER_ALLOC';
/** How long a run inside an allocation gets between SIGTERM and SIGKILL when its hold ends. */
const STOP_GRACE_MS = 2000;

/** What the session host lends the allocation host: serving a started session's bytes. */
export interface SessionParts {
  attend(
    id: string,
    user: string,
    supervised: Supervised,
    io: AttachedIo,
    placing: Promise<unknown>,
  ): void;
}

/** A request to start a run inside an allocation (`drover.agent.<node>.session`, JSON). */
interface RunRequest {
  id: string;
  cwd?: string;
  env?: Record<string, string>;
}

/** A process this agent re-adopted after its restart (a worker of its previous life). */
export interface ReadoptedWorker {
  readonly jobId: string;
  readonly workerId: string;
  readonly supervised: Supervised;
}

/** The agent's side of allocations (`drover alloc`, `drover run --alloc`). */
export interface AllocHost {
  /** The hold of an allocation on this node, or `undefined` when `w` is not one. */
  launchHold(
    w: LaunchWork,
    spec: LaunchSpec,
    hooks: SupervisorHooks,
    opts: SupervisorOptions,
  ): Promise<Supervised | undefined>;
  /**
   * After the agent's restart: the holds among the workers it re-adopted, as the log has them
   * (the allocation's job, its session opened for that job and not ended), taken up again so
   * runs inside them start and the hold's end stops them as before. Returns their allocations.
   */
  readoptHolds(live: Iterable<ReadoptedWorker>): Promise<string[]>;
  close(): void;
}

/**
 * Allocations on this agent. A hold is the allocation job's chunk on this node: an ordinary
 * attempt whose placeholder process (`sleep` for the allocation's time) keeps the resources
 * counted as used by the scheduler, so runs inside it need no placement of their own and
 * cannot double-count capacity. Runs come as requests from the API and start only inside a
 * live hold; when the hold ends, every run inside it is stopped (with a grace, audited as
 * `session.stop_requested` by this agent) and the allocation's session exits.
 */
export function createAllocHost(
  o: SessionHostOptions,
  runtime: EntityRuntime,
  command: Command,
  meta: Meta,
  parts: SessionParts,
): AllocHost {
  const holds = new AllocHolds();
  const sub: Subscription = o.nc.subscribe(agentSessionSubject(o.node), {
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        let reply: Record<string, unknown>;
        try {
          const req = JSON.parse(new TextDecoder().decode(msg.data)) as RunRequest;
          const problem = await runInAlloc(req);
          reply = problem === undefined ? { ok: true } : { ok: false, error: problem };
        } catch (e) {
          reply = { ok: false, error: (e as Error).message };
        }
        msg.respond(JSON.stringify(reply));
      })().catch((err: unknown) => o.logger.warn({ err }, 'run in allocation: no reply sent'));
    },
  });

  async function launchHold(
    w: LaunchWork,
    spec: LaunchSpec,
    hooks: SupervisorHooks,
    opts: SupervisorOptions,
  ): Promise<Supervised | undefined> {
    const id = w.env[ALLOC_ENV];
    if (id === undefined) return undefined;
    const state = await untilOpened(runtime, id);
    const opened = state?.context.opened;
    if (opened?.kind !== 'alloc' || opened.jobId !== w.jobId) return undefined;
    const supervised = await launch(spec, hooks, opts);
    if (supervised.pid <= 0) return supervised;
    await hold(id, opened.timeS, w.worker, supervised, true);
    return supervised;
  }

  /** The hold of `id` lives in `s` here (`place`: say so in the log): runs may start in it. */
  async function hold(
    id: string,
    timeS: number | undefined,
    worker: string,
    s: Supervised,
    place: boolean,
  ) {
    holds.start(id);
    if (place) {
      const placed = await command(id, {
        type: 'PlaceSession',
        ...meta(id, `placed@${worker}`),
        data: { node: o.node, worker, pid: s.pid },
      });
      if (!placed.ok) o.logger.warn({ alloc: id, why: placed.rejection }, 'allocation placement');
    }
    // Watched once placed: the log says placed before it says exited.
    void s.done
      .then((outcome) => holdEnded(id, timeS, outcome))
      .catch((err: unknown) => o.logger.warn({ err, alloc: id }, 'allocation end'));
  }

  async function readoptHolds(live: Iterable<ReadoptedWorker>): Promise<string[]> {
    const out: string[] = [];
    for (const w of live) {
      const spec = (await runtime.load(jobBehaviour, w.jobId)).state.context.spec;
      const id = spec?.spread ? spec.env[ALLOC_ENV] : undefined;
      if (id === undefined) continue;
      const { state } = await runtime.load(sessionBehaviour, id);
      const opened = state.context.opened;
      if (opened?.kind !== 'alloc' || opened.jobId !== w.jobId) continue;
      if (stateName(state) === 'exited') continue; // released meanwhile: nothing starts in it
      // Killed between its launch and `session.placed`: the placement is recorded now.
      const placed = state.context.placements.some((p) => p.node === o.node);
      await hold(id, opened.timeS, w.workerId, w.supervised, !placed);
      out.push(id);
    }
    return out;
  }

  /** The hold ended: stop the runs inside it, then the allocation's session exits. */
  async function holdEnded(id: string, timeS: number | undefined, outcome: ProcessOutcome) {
    const { state } = await runtime.load(sessionBehaviour, id);
    const why =
      state.context.stopReason ??
      (outcome.exitCode === 0 ? `its time ran out (${timeS} s)` : outcome.message);
    await holds.end(id, `allocation ${id} ended on ${o.node}: ${why}`);
    if (stateName(state) === 'exited') return; // its hold on another node ended first
    const { exitCode, signal } = outcome;
    const r = await command(id, {
      type: 'EndSession',
      ...meta(id, `ended@${o.node}`),
      data: { exitCode, signal, message: why.slice(0, 4000) },
    });
    if (!r.ok) o.logger.debug({ alloc: id, why: r.rejection }, 'allocation end');
  }

  /** Start a run inside an allocation held here; the problem in words when it may not. */
  async function runInAlloc(req: RunRequest): Promise<string | undefined> {
    const { state } = await runtime.load(sessionBehaviour, req.id);
    const opened = state.context.opened;
    const alloc = opened?.alloc;
    if (!opened || alloc === undefined) return `no run ${req.id} inside an allocation`;
    if (opened.node !== o.node) return `session ${req.id} is for node ${opened.node}`;
    if (stateName(state) !== 'opened') return `session ${req.id} is ${stateName(state)}`;
    if (!holds.has(alloc)) return `node ${o.node} holds no allocation ${alloc} (now)`;
    const allocJob = (await runtime.load(sessionBehaviour, alloc)).state.context.opened?.jobId;
    const runDir = join(o.stateDir ?? '.', 'sessions', req.id);
    const spec: LaunchSpec = {
      workerId: req.id,
      command: opened.command,
      env: {
        ...req.env,
        DROVER_SESSION: req.id,
        [ALLOC_ENV]: alloc,
        DROVER_NODE: o.node,
        ...(allocJob !== undefined && { DROVER_JOB: allocJob }),
      },
      memLimitMb: opened.memMb,
      runDir,
      ...(req.cwd !== undefined && { cwd: req.cwd }),
    };
    const started = await launchAttached(spec, attachOf(state));
    if ('problem' in started) {
      await command(req.id, {
        type: 'EndSession',
        ...meta(req.id, 'exited'),
        data: { exitCode: null, signal: null, message: `launch failed: ${started.problem}` },
      });
      return started.problem;
    }
    const { supervised, io } = started;
    const placing = command(req.id, {
      type: 'PlaceSession',
      ...meta(req.id, `placed@${o.node}`),
      data: { node: o.node, pid: supervised.pid },
    });
    parts.attend(req.id, opened.user, supervised, io, placing);
    holds.adopt(alloc, req.id, (reason) =>
      stopSession(o.logger, command, meta, {
        id: req.id,
        tag: 'alloc-ended',
        reason,
        supervised,
        graceMs: STOP_GRACE_MS,
      }),
    );
    void supervised.done
      .finally(() => {
        holds.release(alloc, req.id);
        setTimeout(() => void rm(runDir, { recursive: true, force: true }).catch(() => {}), 1000);
      })
      .catch((err: unknown) => o.logger.warn({ err, alloc }, 'run in allocation ended badly'));
    await placing;
    return undefined;
  }

  return { launchHold, readoptHolds, close: () => sub.unsubscribe() };
}
