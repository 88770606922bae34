import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { WRAPPER_NAME, WRAPPER_SCRIPT } from './wrapper.js';
import { ErrorCodes, SchedulerError } from '../../events/index.js';

/**
 * A small long-lived perl process that forks the agent's attempts for it. Node's `spawn` forks
 * the whole agent (page tables of a 100+ MB heap) on the main thread: measured on this 2-core
 * machine, 3.4 ms of CPU per launch and at most ~550 launches/s, a quarter of a busy agent's
 * time. perl forks a 5 MB process: 1.8 ms per launch (most of it the `sh` and the command
 * themselves), ~1,000 launches/s, and the agent's thread only writes a line.
 *
 * Protocol, one line each way, every field hex-encoded (no quoting, any byte allowed):
 *   request   `<id> <cwd> <stdout> <stderr> <n> <k1> <v1> ... <kn> <vn> <arg>...`
 *   started   `s <id> <pid> <starttime>`   (SIGCHLD is blocked from fork to this line, so a
 *                                           process's exit is never reported before its start;
 *                                           the line waits for the child's setsid(), so a kill
 *                                           of the group right after it is never lost)
 *   not started `e <id> <message>`
 *   exited    `x <pid> <wait status>`
 * The child does what `spawn(..., {detached: true})` did: its own session and process group,
 * stdin from /dev/null, stdout/stderr appended to the files, the job's variables over the
 * agent's environment (as it was when the server started), then the `sh` wrapper. perl is part
 * of every Debian system (perl-base); without it, `launch` falls back to `spawn`.
 */
const SERVER = String.raw`
use strict; use POSIX qw(setsid _exit WNOHANG SIGCHLD SIG_BLOCK SIG_UNBLOCK);
$0 = 'drover-fork-server'; $| = 1;
my ($wrap, $name) = @ARGV;
my $chld = POSIX::SigSet->new(SIGCHLD);
$SIG{CHLD} = sub { while ((my $p = waitpid(-1, WNOHANG)) > 0) { print "x $p $?\n" } };
sub hex_of { unpack('H*', $_[0]) }
while (defined(my $line = <STDIN>)) {
  chomp $line;
  my @f = map { pack('H*', $_) } split(/ /, $line, -1);
  my ($id, $cwd, $out, $err, $n) = splice(@f, 0, 5);
  my @env = splice(@f, 0, 2 * $n);
  pipe(my $grouped, my $tell) or do { print 'e ', hex_of($id), ' ', hex_of("pipe: $!"), "\n"; next };
  POSIX::sigprocmask(SIG_BLOCK, $chld);
  my $pid = fork();
  if (!defined $pid) { close $grouped; close $tell; print 'e ', hex_of($id), ' ', hex_of("fork: $!"), "\n"; }
  elsif ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT'; POSIX::sigprocmask(SIG_UNBLOCK, $chld); setsid();
    close $grouped; close $tell;
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>>', $out) or _exit(126);
    open(STDERR, '>>', $err) or _exit(126);
    chdir($cwd) or do { print STDERR "$name: 1: cannot enter $cwd: $!\n"; _exit(127) };
    while (@env) { my $k = shift @env; $ENV{$k} = shift @env; }
    exec { '/bin/sh' } '/bin/sh', '-c', $wrap, $name, @f;
    print STDERR "$name: 1: /bin/sh: $!\n"; _exit(127);
  } else {
    close $tell; sysread($grouped, my $eof, 1); close $grouped;
    my $start = '';
    if (open(my $fh, '<', "/proc/$pid/stat")) {
      my $s = <$fh>; close $fh;
      $start = (split(/ /, substr($s, rindex($s, ')') + 2)))[19] // '';
    }
    print 's ', hex_of($id), " $pid $start\n";
  }
  POSIX::sigprocmask(SIG_UNBLOCK, $chld);
}
`;

/** How the wrapper's process ended; `undefined` when the fork server died before telling. */
export type ForkExit = { code: number | null; signal: string | null } | undefined;

export interface ForkStarted {
  pid: number;
  startTime: string;
  exited: Promise<ForkExit>;
}

export interface ForkRequest {
  command: readonly string[];
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
  /** Set over the agent's environment. */
  env: Record<string, string>;
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const signalNames = new Map(Object.entries(constants.signals).map(([k, v]) => [v, k]));

/** Pure: a wait(2) status as Node's `exit` event reports it. */
export function decodeWaitStatus(status: number): { code: number | null; signal: string | null } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: signalNames.get(sig) ?? `SIG${sig}` };
}

/** Pure: the request line for `r` under id `id`. */
export function requestLine(id: string, r: ForkRequest): string {
  const env = Object.entries(r.env).flatMap(([k, v]) => [k, v]);
  const fields = [id, r.cwd, r.stdoutPath, r.stderrPath, String(env.length / 2), ...env];
  return fields.concat(r.command).map(hex).join(' ') + '\n';
}

/** One fork server; a new one is started when the last one died. */
export class ForkServer {
  private child: ChildProcess | undefined;
  private nextId = 0;
  private buffer = '';
  private readonly starting = new Map<string, (r: ForkStarted | Error) => void>();
  private readonly running = new Map<number, (e: ForkExit) => void>();
  /** Set once perl could not be started at all: callers use `spawn` instead. */
  unavailable: Error | undefined;

  /** The running server's pid, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(r: ForkRequest): Promise<ForkStarted> {
    const child = this.child ?? this.open();
    const id = String(this.nextId++);
    return new Promise<ForkStarted>((resolve, reject) => {
      this.starting.set(id, (res) => (res instanceof Error ? reject(res) : resolve(res)));
      this.holdOpen(child);
      child.stdin?.write(requestLine(id, r));
    });
  }

  /** Ends the server (it exits on end of input); running processes are not touched. */
  close(): void {
    this.child?.stdin?.end();
  }

  private open(): ChildProcess {
    const child = spawn('perl', ['-e', SERVER, WRAPPER_SCRIPT, WRAPPER_NAME], {
      stdio: ['pipe', 'pipe', 'ignore'],
      // Out of the terminal's process group: a Ctrl-C that drains the agent must not kill the
      // server (it ends on end of input, when the agent exits).
      detached: true,
    });
    this.child = child;
    child.unref(); // the server itself never keeps the agent alive; see holdOpen
    (child.stdin as unknown as { unref(): void }).unref();
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.read(d));
    child.stdin?.on('error', () => undefined); // a dead server shows as its exit
    child.once('error', (err) => {
      if (child.pid === undefined) this.unavailable = err;
      this.lost(child, err);
    });
    child.once('exit', (code, signal) =>
      this.lost(
        child,
        new SchedulerError(
          ErrorCodes.Unavailable,
          `fork server exited (${signal ?? `code ${code}`})`,
        ),
      ),
    );
    return child;
  }

  private read(data: string): void {
    this.buffer += data;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const [kind, a = '', b = '', c = ''] = this.buffer.slice(0, nl).split(' ');
      this.buffer = this.buffer.slice(nl + 1);
      if (kind === 'x') {
        const pid = Number(a);
        this.running.get(pid)?.(decodeWaitStatus(Number(b)));
        this.running.delete(pid);
        this.holdOpen(this.child);
        continue;
      }
      const id = Buffer.from(a, 'hex').toString('utf8');
      const settle = this.starting.get(id);
      this.starting.delete(id);
      if (kind === 'e')
        settle?.(
          new SchedulerError(ErrorCodes.Unavailable, Buffer.from(b, 'hex').toString('utf8')),
        );
      else if (kind === 's' && settle) {
        const pid = Number(b);
        const exited = new Promise<ForkExit>((resolve) => this.running.set(pid, resolve));
        settle({ pid, startTime: c, exited });
      }
    }
  }

  /** Like a spawned ChildProcess: the loop stays alive while a start or an exit is awaited. */
  private holdOpen(child: ChildProcess | undefined): void {
    const out = child?.stdout as unknown as { ref(): void; unref(): void } | undefined;
    if (this.starting.size + this.running.size > 0) out?.ref();
    else out?.unref();
  }

  /**
   * The server is gone: its processes live on (own sessions), reparented; their supervisors
   * learn their ends from /proc and the status file instead. A start it had not confirmed fails.
   */
  private lost(child: ChildProcess, err: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.buffer = '';
    for (const settle of this.starting.values())
      settle(
        new SchedulerError(
          ErrorCodes.Unavailable,
          `the fork server ended before confirming the start: ${err.message}`,
          { cause: err },
        ),
      );
    this.starting.clear();
    for (const resolve of this.running.values()) resolve(undefined);
    this.running.clear();
  }
}

let shared: ForkServer | undefined;

/** The process's fork server, shared by every agent in it. */
export function forkServer(): ForkServer {
  shared ??= new ForkServer();
  return shared;
}
