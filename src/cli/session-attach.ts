import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { constants } from 'node:os';
import type { ApiClient, SessionRow } from '../api/index.js';
import {
  DEFAULT_WINDOW_BYTES,
  FrameKinds,
  MAX_FRAME_BYTES,
  ackedBytes,
  canSend,
  controlFrame,
  dataFrame,
  decodeFrame,
  fromNatsError,
  openWindow,
  sentBytes,
  nodeOfSessionSubject,
  sessionInSubject,
  sessionOutWildcard,
  type Frame,
  type SendWindow,
} from '../events/index.js';

/** How a session ended, as the client saw it. */
export interface SessionEnd {
  exitCode: number | null;
  signal: string | null;
  message: string;
  node?: string;
}

/** Where the command's bytes go, and the terminal (when `-t` and stdin is one). */
export interface AttachIo {
  stdin: NodeJS.ReadableStream & { setRawMode?: (raw: boolean) => void; isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const HEARTBEAT_MS = 1000;
/** How often the client asks the log whether its session ended without telling it. */
const CHECK_MS = 2000;

/**
 * The client's end of a session's bytes. Output is written where it goes and acknowledged only
 * once written (so a slow terminal or pipe slows the remote command, and this process holds at
 * most a credit window); stdin goes out under the agent's credit once the process runs; a
 * heartbeat every second tells the agent the client is alive. Ends with the exit frame, or,
 * should that be lost, with `session.exited` read from the log.
 */
export class SessionClient {
  private expected = 0;
  private consumed = 0;
  private ackQueued = false;
  private stdinWindow: SendWindow = openWindow(DEFAULT_WINDOW_BYTES);
  private stdinPaused = false;
  private stdinEnded = false;
  private started = false;
  /** Stdin read while a resize is on its way (see `holdInputWhile`); null when not holding. */
  private held: Buffer[] | null = null;
  private holds = 0;
  node: string | undefined;
  private settle!: (end: SessionEnd) => void;
  private fail!: (err: Error) => void;
  readonly ended: Promise<SessionEnd>;
  private readonly sub: Subscription;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly api: ApiClient,
    readonly id: string,
    /** The session's user: its subjects carry it (only that user may read or type into it). */
    private readonly user: string,
    private readonly io: AttachIo,
  ) {
    this.ended = new Promise((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    // A failure before anyone awaits `ended` (the server denying the subscription while the
    // session is being opened) is reported where it is awaited, never as an unhandled rejection.
    this.ended.catch(() => undefined);
    this.sub = nc.subscribe(sessionOutWildcard(user, id), {
      callback: (err, msg) => {
        if (err) return this.fail(fromNatsError(err, `session ${id} output`) ?? err);
        // The node is in the subject (the server lets only that node's agent publish there):
        // the first frame (Ready) names it, frames from any other node are not this session's.
        const node = nodeOfSessionSubject(msg.subject);
        this.node ??= node;
        if (node !== this.node) return;
        const f = decodeFrame(msg.data);
        if (f) this.frame(f);
      },
    });
    this.timers.push(setInterval(() => this.heartbeat(), HEARTBEAT_MS));
    this.timers.push(setInterval(() => void this.checkLog(), CHECK_MS));
  }

  /**
   * Send a control frame to the agent (signals of a client without a pty). Nothing goes out
   * before the session's node is known: no agent listens before it sends Ready.
   */
  send(kind: Parameters<typeof controlFrame>[0], body: Record<string, unknown> = {}): void {
    this.publish(controlFrame(kind, body));
  }

  private publish(frame: Uint8Array): void {
    if (this.node === undefined || this.nc.isClosed()) return;
    this.nc.publish(sessionInSubject(this.user, this.node, this.id), frame);
  }

  /**
   * Keystrokes typed while a resize is on its way wait for it. The API puts the new size on this
   * session's input subject before it answers, on one connection, so bytes sent after the answer
   * reach the remote pty after its resize: what is typed after a window change is read at the
   * new size (a full-screen program, `stty size`). Bounded: a slow or failed call lets them go
   * after `maxMs`.
   */
  async holdInputWhile(call: Promise<unknown>, maxMs = 2_000): Promise<void> {
    this.holds += 1;
    this.held ??= [];
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(resolve, maxMs)));
    try {
      await Promise.race([call.catch(() => undefined), late]);
    } finally {
      clearTimeout(timer);
      this.holds -= 1;
      if (this.holds === 0) this.releaseHeld();
    }
  }

  private releaseHeld(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const b of held) this.stdinData(b);
    this.maybeEof();
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.sub.unsubscribe();
  }

  private frame(f: Frame): void {
    switch (f.kind) {
      case FrameKinds.Stdout:
      case FrameKinds.Stderr:
        return this.output(f.kind, f.offset, f.bytes);
      case FrameKinds.Ack:
        return this.stdinAcked(Number(f.body.consumed));
      case FrameKinds.Ready:
        return this.startStdin();
      case FrameKinds.Exit:
        return this.finish(f.body);
      case FrameKinds.Error:
        return this.fail(new Error(String(f.body.message)));
      default:
        return;
    }
  }

  private output(kind: 1 | 2, offset: number, bytes: Uint8Array): void {
    if (offset !== this.expected) {
      // Core NATS dropped a frame (a slow consumer, a reconnect): say so rather than print a
      // corrupted output. The window keeps this from happening on a healthy connection.
      this.fail(new Error(`session ${this.id}: output lost at byte ${this.expected}`));
      return;
    }
    this.expected += bytes.length;
    const out = kind === FrameKinds.Stdout ? this.io.stdout : this.io.stderr;
    out.write(bytes, () => {
      this.consumed += bytes.length;
      this.queueAck();
    });
  }

  /** One ack per turn of the event loop, however many writes finished in it. */
  private queueAck(): void {
    if (this.ackQueued) return;
    this.ackQueued = true;
    setImmediate(() => {
      this.ackQueued = false;
      this.send(FrameKinds.Ack, { consumed: this.consumed });
    });
  }

  private heartbeat(): void {
    this.send(FrameKinds.Heartbeat, { consumed: this.consumed });
    // Repeating the ack costs nothing and recovers a lost one (acks are cumulative).
    if (this.consumed > 0) this.send(FrameKinds.Ack, { consumed: this.consumed });
  }

  /** Stdin goes out only once the agent listens (frames sent earlier would be lost). */
  private startStdin(): void {
    if (this.started) return;
    this.started = true;
    const { stdin } = this.io;
    stdin.on('data', (b: Buffer | string) => this.stdinData(Buffer.from(b)));
    stdin.on('end', () => {
      this.stdinEnded = true;
      this.maybeEof();
    });
    stdin.resume();
  }

  private stdinData(b: Buffer): void {
    if (this.held) {
      this.held.push(b);
      return;
    }
    for (let at = 0; at < b.length; at += MAX_FRAME_BYTES) {
      const part = b.subarray(at, at + MAX_FRAME_BYTES);
      const frame = dataFrame(FrameKinds.Stdin, this.stdinWindow.sent, part);
      this.publish(frame);
      this.stdinWindow = sentBytes(this.stdinWindow, part.length);
    }
    if (!canSend(this.stdinWindow) && !this.stdinPaused) {
      this.stdinPaused = true;
      this.io.stdin.pause();
    }
  }

  private stdinAcked(consumed: number): void {
    this.stdinWindow = ackedBytes(this.stdinWindow, consumed);
    if (this.stdinPaused && canSend(this.stdinWindow)) {
      this.stdinPaused = false;
      this.io.stdin.resume();
    }
  }

  /** End of stdin goes after its last byte (same connection, same subject: in order). */
  private maybeEof(): void {
    if (this.stdinEnded && !this.held) this.send(FrameKinds.Eof);
  }

  private finish(body: Record<string, unknown>): void {
    const exitCode = typeof body.exitCode === 'number' ? body.exitCode : null;
    const signal = typeof body.signal === 'string' ? body.signal : null;
    const end: SessionEnd = { exitCode, signal, message: String(body.message ?? '') };
    if (this.node !== undefined) end.node = this.node;
    // Every byte before the exit frame was written already or is queued behind it on `out`.
    this.settle(end);
  }

  /**
   * The log as a backstop: a session that ended without an exit frame reaching us (it never
   * started, or the frame was lost) still ends here, with what `session.exited` says.
   */
  private async checkLog(): Promise<void> {
    let row: SessionRow | undefined;
    try {
      row = (await this.api.call<{ session?: SessionRow }>('session.get', { id: this.id })).session;
    } catch {
      return; // not opened yet, or the API is busy: the next check asks again
    }
    if (row?.state !== 'exited') return;
    // The exit frame follows the last byte; give it a moment before believing the log alone.
    await new Promise((r) => setTimeout(r, CHECK_MS));
    const message = row.stopReason ?? (row.placedAt ? 'the session ended' : 'it never started');
    this.finish({ exitCode: row.exitCode ?? null, signal: row.signal ?? null, message });
  }
}

/** The exit code a shell would give: the command's, or 128+n for a signal n, else 1. */
export function shellExitCode(end: SessionEnd): number {
  if (end.exitCode !== null) return end.exitCode;
  const n = end.signal ? constants.signals[end.signal as NodeJS.Signals] : undefined;
  return n !== undefined ? 128 + n : 1;
}
