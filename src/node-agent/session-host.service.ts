import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import {
  createEntityRuntime,
  sessionBehaviour,
  stateName,
  type EntityRuntime,
  type SessionCommand,
  type SessionSnapshot,
} from '../actors/index.js';
import {
  attachOf,
  stopSession,
  untilOpened,
  type SessionCommandFn as Command,
  type SessionMeta as Meta,
} from './session-parts.js';
import {
  FrameKinds,
  decodeFrame,
  sessionInSubject,
  type Actor,
  type EventLog,
  type LaunchWork,
} from '../events/index.js';
import { createAllocHost, type ReadoptedWorker } from './alloc-host.service.js';
import { SessionPump, type SessionAddress } from './session-pump.js';
import {
  failedLaunch,
  launchAttached,
  type AttachedIo,
  type LaunchSpec,
  type ProcessOutcome,
  type Supervised,
  type SupervisorHooks,
  type SupervisorOptions,
} from './supervisor/index.js';

/** The variable that marks a launch as a session's (set by the API, checked against the log). */
export const SESSION_ENV = 'DROVER_SESSION';
/** Signals a client may send to its process group (what a person can type or send). */
const CLIENT_SIGNALS: ReadonlySet<string> = new Set(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']);

export interface SessionHostOptions {
  readonly nc: NatsConnection;
  readonly eventLog: EventLog;
  readonly node: string;
  readonly by: Actor;
  readonly clock: () => number;
  readonly logger: Logger;
  /** How long a client may go without a heartbeat before its process is stopped. */
  readonly graceMs: number;
  readonly windowBytes?: number;
  /** Where runs inside an allocation keep their run directories (`<stateDir>/sessions/<id>`). */
  readonly stateDir?: string;
}

/** The agent's side of interactive sessions (`drover run`) and allocations (`drover alloc`). */
export interface SessionHost {
  /**
   * Start `w` attached to its session when it is one: its `DROVER_SESSION` names a session
   * opened for exactly this job. `undefined` when it is not (the caller launches it as any job).
   */
  launch(
    w: LaunchWork,
    spec: LaunchSpec,
    hooks: SupervisorHooks,
    opts: SupervisorOptions,
  ): Promise<Supervised | undefined>;
  /** After a restart: take up the allocations' holds among the re-adopted workers. */
  readoptHolds(live: Iterable<ReadoptedWorker>): Promise<string[]>;
  /** Stop answering requests for runs inside allocations. */
  close(): void;
}

export function createSessionHost(o: SessionHostOptions): SessionHost {
  // Not cached: a session is read when its launch comes, and must be read as the log has it now.
  const runtime = createEntityRuntime({ eventLog: o.eventLog });
  const command = (id: string, c: SessionCommand) => runtime.execute(sessionBehaviour, id, c);
  const meta = (id: string, tag: string) => ({ id: `${id}>${tag}`, at: o.clock(), by: o.by });
  const allocs = createAllocHost(o, runtime, command, meta, {
    attend: (id, user, supervised, io, placing) =>
      attend(o, { id, user, node: o.node }, supervised, io, placing, command, meta),
  });
  return {
    close: () => allocs.close(),
    readoptHolds: (live) => allocs.readoptHolds(live),
    async launch(w, spec, hooks, opts) {
      const hold = await allocs.launchHold(w, spec, hooks, opts);
      if (hold) return hold;
      const id = w.env[SESSION_ENV];
      if (id === undefined) return undefined;
      const claim = await claimable(runtime, id, w.jobId);
      if (claim === 'unknown') return undefined;
      if (typeof claim === 'string') {
        // A retry of a session's job (out of memory, a lost node) or a launch naming another's
        // session: its command never runs detached from the client that asked for it.
        o.logger.warn({ session: id, jobId: w.jobId, why: claim }, 'session launch refused');
        return failedLaunch(spec, claim);
      }
      const opened = claim.context.opened;
      if (opened === undefined) return undefined; // claimable returns opened sessions only
      const started = await launchAttached(spec, attachOf(claim), hooks, opts);
      if ('problem' in started) {
        const failed = failedLaunch(spec, started.problem);
        void failed.done
          .then((out) => endSession(o, id, out, command, meta))
          .catch((err: unknown) => o.logger.warn({ err, session: id }, 'session end'));
        return failed;
      }
      const { supervised, io } = started;
      // Attached before anything is awaited: node-pty drops the output of a command that ends
      // while nobody reads it (it closes the terminal 200 ms after the exit).
      const placing = command(id, {
        type: 'PlaceSession',
        ...meta(id, `placed@${w.worker}`),
        data: { node: o.node, worker: w.worker, pid: supervised.pid },
      });
      attend(o, { id, user: opened.user, node: o.node }, supervised, io, placing, command, meta);
      const placed = await placing;
      if (!placed.ok) o.logger.warn({ session: id, why: placed.rejection }, 'session placement');
      return supervised;
    },
  };
}

/**
 * The session as the log has it, when `jobId` may attach to it: opened for this very job and not
 * placed yet. Otherwise why not (placed or ended already, another job's), or `unknown` when no
 * such session was ever opened (then `DROVER_SESSION` is just a variable of an ordinary job).
 */
async function claimable(
  runtime: EntityRuntime,
  id: string,
  jobId: string,
): Promise<SessionSnapshot | string> {
  const state = await untilOpened(runtime, id);
  const opened = state?.context.opened;
  if (!state || !opened) return 'unknown';
  if (opened.jobId !== undefined && opened.jobId !== jobId)
    return `session ${id} belongs to job ${opened.jobId}, not ${jobId}`;
  const now = stateName(state);
  return now === 'opened' ? state : `session ${id} is ${now}: its command runs only once`;
}

/** Serve one running session: its frames, its client's heartbeat, its end. */
function attend(
  o: SessionHostOptions,
  session: SessionAddress,
  supervised: Supervised,
  io: AttachedIo,
  placing: Promise<unknown>,
  command: Command,
  meta: Meta,
): void {
  const { id } = session;
  let lastSeen = o.clock();
  let exited = false;
  const pump = new SessionPump(o.nc, session, io, o.windowBytes);
  let exitBody: Record<string, unknown> | undefined;
  const sub: Subscription = o.nc.subscribe(sessionInSubject(session.user, o.node, id), {
    callback: (err, msg) => {
      if (err) return;
      const f = decodeFrame(msg.data);
      if (!f) return;
      lastSeen = o.clock();
      if (exitBody) return pump.control(FrameKinds.Exit, exitBody); // a client that missed it
      if (f.kind === FrameKinds.Stdin) pump.stdin(f.offset, f.bytes);
      else if (f.kind === FrameKinds.Ack) pump.acked(Number(f.body.consumed));
      else if (f.kind === FrameKinds.Eof) io.endInput();
      else if (f.kind === FrameKinds.Heartbeat) pump.repeatAck();
      else if (f.kind === FrameKinds.Resize) io.resize(Number(f.body.cols), Number(f.body.rows));
      else if (f.kind === FrameKinds.Signal && CLIENT_SIGNALS.has(String(f.body.signal)))
        io.signal(String(f.body.signal) as NodeJS.Signals);
    },
  });
  pump.control(FrameKinds.Ready, { node: o.node, pid: supervised.pid });
  const watchdog = setInterval(
    () => {
      if (exited || o.clock() - lastSeen <= o.graceMs) return;
      exited = true; // one stop: the process's end is recorded as for any stop
      clientLost(o, id, supervised, command, meta).catch((err: unknown) =>
        o.logger.warn({ err, session: id }, 'session stop not recorded'),
      );
    },
    Math.max(50, o.graceMs / 4),
  );
  void supervised.done
    .then(async (outcome) => {
      // Every byte the process wrote reaches the client before its exit code does, unless the
      // client is gone (then there is nobody to wait for).
      await Promise.race([pump.drained(), untilLost(o, () => lastSeen)]);
      exited = true;
      clearInterval(watchdog);
      exitBody = { exitCode: outcome.exitCode, signal: outcome.signal, message: outcome.message };
      await placing; // the log says placed before it says exited
      // The log says exited before the client hears it (bounded, if the log is slow): a script
      // that runs `drover run` then reads the session (`sessions --all`, audit) finds its end.
      const ended = endSession(o, id, outcome, command, meta);
      await Promise.race([ended.catch(() => undefined), sleep(5_000, undefined, { ref: false })]);
      pump.control(FrameKinds.Exit, exitBody);
      await ended;
      // Stay a little for a client that missed the exit frame and asks again, then let go.
      setTimeout(() => void sub.drain().catch(() => undefined), Math.min(o.graceMs, 5000));
    })
    .catch((err: unknown) => o.logger.warn({ err, session: id }, 'session end not recorded'));
}

async function untilLost(o: SessionHostOptions, lastSeen: () => number): Promise<void> {
  while (o.clock() - lastSeen() <= o.graceMs) await sleep(Math.max(50, o.graceMs / 4));
}

/** The client stopped answering: say so in the log, then stop the process like a cancel. */
async function clientLost(
  o: SessionHostOptions,
  id: string,
  supervised: Supervised,
  command: Command,
  meta: Meta,
): Promise<void> {
  const reason = `client stopped answering: no heartbeat for ${Math.round(o.graceMs / 1000)} s`;
  o.logger.info({ session: id }, 'session client lost');
  const stop = { id, tag: 'client-lost', reason, supervised, graceMs: 2000 };
  await stopSession(o.logger, command, meta, stop);
}

async function endSession(
  o: SessionHostOptions,
  id: string,
  outcome: ProcessOutcome,
  command: Command,
  meta: Meta,
): Promise<void> {
  const { exitCode, signal, message } = outcome;
  const data = { exitCode, signal, message: message.slice(0, 4000) };
  const r = await command(id, { type: 'EndSession', ...meta(id, 'exited'), data });
  if (!r.ok) o.logger.warn({ session: id, why: r.rejection }, 'session end');
}
