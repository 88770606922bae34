import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import { JetStreamPublisher } from '../src/events/publisher.jetstream.js';
import { readBatches } from '../src/events/reader.jetstream.js';
import { EVENTS_STREAM, INTAKE_STREAM, WORK_STREAM } from '../src/events/subjects.js';
import { spawnBenchChild } from '../test/support/bench-child.js';

/**
 * The floor of a farm on this machine: the messages and processes a job or a placement needs,
 * sent and run by stand-ins that do nothing else. No validation, no machines, no entity cache,
 * no run directory, no wrapper shell: each role only publishes (acknowledged, through the
 * hand-rolled core publisher, the fastest way to append measured here), consumes, acknowledges,
 * reads the event stream's tail and forks the command. Each role runs in a process of its own,
 * as the farm's services do. What Drover reaches is compared with this floor in the same run:
 * a goal above the floor cannot be met on this machine by any scheduler built on this log.
 *
 * Roles (env FLOOR_ROLE, options in FLOOR_OPTS):
 * - `scheduler`: takes submissions from the intake, appends a job's four opening events, sends
 *   the launch to an agent, appends `job.started`; reads every event on the tail and, on a
 *   chunk's end, appends the job's two closing events.
 * - `agent`: takes its launches, appends `worker.launching`, forks the command through a
 *   minimal perl forker, appends `worker.started` and `chunk.started`, then on the exit
 *   `worker.exited` and `chunk.succeeded`.
 * - `hollow`: takes launches for 1,000 nodes, appends `worker.launching`, `worker.started` and
 *   `chunk.started` (as hollow nodes do, no process).
 * Each prints `{ready}`, then `{count, firstAt, lastAt}` once `expect` launches arrived.
 */
export interface FloorRoleOptions {
  readonly url: string;
  readonly role: 'scheduler' | 'agent' | 'hollow';
  /** The agent's node (its work subject); agents the scheduler sends to. */
  readonly node?: string;
  readonly nodes?: readonly string[];
  readonly expect: number;
}

const packr = new Packr({ useRecords: false });
/** Payloads of about the size Drover's events and launch messages have (msgpack). */
export const payload = (kind: number, bytes: number): Uint8Array =>
  packr.pack({ k: kind, pad: 'x'.repeat(Math.max(0, bytes - 12)) });
export const EVENT_BYTES = 190;
export const LAUNCH_BYTES = 600;
/** Payload kinds the stand-ins read back from the tail. */
export const CHUNK_END = 1;
export const JOB_END = 2;
const EVENT = 0;

/** A durable pull consumer, consumed in batches (as the farm's work and intake consumers). */
async function consumeDurable(
  nc: NatsConnection,
  stream: string,
  name: string,
  filter: string,
  onMsg: (m: JsMsg) => void,
): Promise<{ close(): Promise<void> }> {
  await (
    await jetstreamManager(nc)
  ).consumers.add(stream, {
    durable_name: name,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(60_000),
    max_ack_pending: 4096,
  });
  const messages = await (
    await jetstream(nc).consumers.get(stream, name)
  ).consume({
    max_messages: 1024,
  });
  const done = (async () => {
    for await (const m of messages) onMsg(m);
  })();
  return {
    async close() {
      await messages.close();
      await done;
    },
  };
}

/**
 * Every event from `fromSeq` on, unpacked (the tail every scheduler reads), through the log's
 * raw batch reader: the fastest read measured here, with no validation or folding after it.
 */
export async function tailEvents(
  nc: NatsConnection,
  fromSeq: number,
  filter: string,
  onEvent: (subject: string, kind: number) => void,
): Promise<{ close(): Promise<void> }> {
  const stop = new AbortController();
  const batches = readBatches(nc, await jetstreamManager(nc), EVENTS_STREAM, {
    filter,
    fromSeq,
    follow: true,
    signal: stop.signal,
  });
  const done = (async () => {
    for await (const batch of batches)
      for (const m of batch) onEvent(m.subject, (packr.unpack(m.data) as { k: number }).k);
  })();
  return {
    async close() {
      stop.abort();
      await done.catch(() => undefined);
    },
  };
}

/**
 * A minimal forker: one line in (`id`), `s id pid` out once forked, `x pid status` on exit
 * (SIGCHLD blocked from the fork to the `s` line, so an exit never comes before its start).
 */
const FORKER = String.raw`
use POSIX qw(WNOHANG SIGCHLD SIG_BLOCK SIG_UNBLOCK); $| = 1;
my $chld = POSIX::SigSet->new(SIGCHLD);
$SIG{CHLD} = sub { while ((my $p = waitpid(-1, WNOHANG)) > 0) { print "x $p $?\n" } };
open(my $null, '+<', '/dev/null');
while (defined(my $id = <STDIN>)) {
  chomp $id; POSIX::sigprocmask(SIG_BLOCK, $chld); my $pid = fork();
  if ($pid == 0) { open(STDIN, '<&', $null); open(STDOUT, '>&', $null); exec { 'true' } 'true'; POSIX::_exit(127) }
  print "s $id $pid\n"; POSIX::sigprocmask(SIG_UNBLOCK, $chld);
}`;

function forker(onStarted: (id: string) => void, onExit: (id: string) => void) {
  const child = spawn('perl', ['-e', FORKER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const byPid = new Map<string, string>();
  createInterface({ input: child.stdout }).on('line', (l) => {
    const [kind, a = '', b = ''] = l.split(' ');
    if (kind === 's') {
      byPid.set(b, a);
      onStarted(a);
    } else if (kind === 'x') {
      const id = byPid.get(a);
      byPid.delete(a);
      if (id !== undefined) onExit(id);
    }
  });
  return {
    start: (id: string) => void child.stdin.write(`${id}\n`),
    close: () => void child.stdin.end(),
  };
}

async function runRole(opts: FloorRoleOptions): Promise<void> {
  const nc = await connect({ servers: opts.url, noAsyncTraces: true });
  const pub = new JetStreamPublisher(nc, 60_000, 8_192);
  const event = payload(EVENT, EVENT_BYTES);
  let n = 0;
  let closing = false;
  const append = (subject: string, body = event) =>
    pub.publish(subject, body, `${subject}#${n++}`).catch((err: unknown) => {
      if (!closing) throw err; // refused at shutdown: nothing waits for it any more
    });
  let count = 0;
  let firstAt = 0;
  const counted = () => {
    if (count++ === 0) firstAt = Date.now();
    if (count === opts.expect)
      process.stdout.write(JSON.stringify({ count, firstAt, lastAt: Date.now() }) + '\n');
  };
  const closers: { close(): Promise<void> | void }[] = [];

  if (opts.role === 'scheduler') {
    const nodes = opts.nodes ?? [];
    const launch = payload(EVENT, LAUNCH_BYTES);
    const jobEnd = payload(JOB_END, EVENT_BYTES);
    let next = 0;
    const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
    closers.push(
      await tailEvents(nc, info.state.last_seq + 1, 'drover.ev.>', (subject, kind) => {
        if (kind !== CHUNK_END) return;
        const job = subject.slice('drover.ev.chunk.'.length, subject.lastIndexOf(':'));
        void append(`drover.ev.job.${job}`).then(() =>
          append(`drover.ev.job.${job}`, jobEnd).then(counted),
        );
      }),
    );
    closers.push(
      await consumeDurable(nc, INTAKE_STREAM, 'floor-scheduler', 'drover.intake.>', (m) => {
        const job = `f${m.seq}`;
        const node = nodes[next++ % nodes.length] as string;
        void (async () => {
          await append(`drover.ev.job.${job}`); // submitted
          await append(`drover.ev.job.${job}`); // queued
          await append(`drover.ev.chunk.${job}:0`); // created
          await append(`drover.ev.chunk.${job}:0`); // assigned
          await pub.publish(`drover.work.${node}`, launch, `launch:${job}`);
          await append(`drover.ev.job.${job}`); // started
          m.ack();
        })();
      }),
    );
  } else {
    const chunkEnd = payload(CHUNK_END, EVENT_BYTES);
    const launched = new Map<string, JsMsg>();
    const fork =
      opts.role === 'agent'
        ? forker(
            (id) => {
              const job = id.slice(0, id.indexOf(':'));
              void Promise.all([
                append(`drover.ev.worker.${id}`), // started
                append(`drover.ev.chunk.${job}:0`), // chunk started
              ]).then(() => launched.get(id)?.ack());
            },
            (id) => {
              const job = id.slice(0, id.indexOf(':'));
              launched.delete(id);
              void append(`drover.ev.worker.${id}`).then(() =>
                append(`drover.ev.chunk.${job}:0`, chunkEnd),
              );
            },
          )
        : undefined;
    if (fork) closers.push(fork);
    const filter = opts.role === 'agent' ? `drover.work.${opts.node}` : 'drover.work.>';
    closers.push(
      await consumeDurable(nc, WORK_STREAM, `floor-${opts.node ?? 'hollow'}`, filter, (m) => {
        counted();
        const id = `${m.subject.slice(m.subject.lastIndexOf('.') + 1)}-${m.seq}:0:1`;
        void append(`drover.ev.worker.${id}`).then(async () => {
          if (fork) {
            launched.set(id, m);
            fork.start(id);
            return;
          }
          await Promise.all([append(`drover.ev.worker.${id}`), append(`drover.ev.chunk.${id}`)]);
          m.ack();
        });
      }),
    );
  }
  process.stdout.write(JSON.stringify({ ready: 1 }) + '\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  closing = true;
  for (const c of closers) await c.close();
  await pub.close();
  await nc.close();
}

/** A floor role as a child process; `done` resolves once it saw `expect` launches or jobs. */
export interface FloorRole {
  readonly done: Promise<{ firstAt: number; lastAt: number }>;
  stop(): Promise<void>;
}

export async function spawnFloorRole(opts: FloorRoleOptions): Promise<FloorRole> {
  const child = spawnBenchChild(fileURLToPath(import.meta.url), 'FLOOR_OPTS', opts);
  await child.next(); // ready
  const done = child
    .next()
    .then((m) => ({ firstAt: m.firstAt as number, lastAt: m.lastAt as number }));
  done.catch(() => undefined);
  return { done, stop: () => child.stop() };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.env.FLOOR_OPTS) {
  await runRole(JSON.parse(process.env.FLOOR_OPTS) as FloorRoleOptions);
}
