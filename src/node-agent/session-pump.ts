import type { NatsConnection } from '@nats-io/transport-node';
import {
  FrameKinds,
  MAX_FRAME_BYTES,
  ackedBytes,
  canSend,
  controlFrame,
  dataFrame,
  drained,
  openWindow,
  sentBytes,
  sessionOutSubject,
  type SendWindow,
} from '../events/index.js';
import type { AttachedIo, OutputStream } from './supervisor/index.js';

/** Where a session's bytes travel: its id, its user and the node it runs on (subjects.ts). */
export interface SessionAddress {
  readonly id: string;
  readonly user: string;
  readonly node: string;
}

/**
 * The agent's end of one session's bytes: output out under the client's credit, stdin in with
 * credit back. Holds at most one credit window of output plus the chunk being read: when the
 * window is full it stops reading the process, which then blocks on its own writes. So a
 * command printing a gigabyte costs the agent a window, and a session whose client reads
 * slowly holds up only itself (every session has its own window and subject).
 */
export class SessionPump {
  private window: SendWindow;
  private paused = false;
  private outputEnded = false;
  private stdinConsumed = 0;
  private stdinExpected = 0;
  private ackPending = false;
  private readonly whenDrained: (() => void)[] = [];
  private readonly subject: string;

  constructor(
    private readonly nc: NatsConnection,
    session: SessionAddress,
    private readonly io: AttachedIo,
    windowBytes?: number,
  ) {
    this.subject = sessionOutSubject(session.user, session.node, session.id);
    this.window = openWindow(windowBytes);
    io.onOutput((stream, bytes) => this.output(stream, bytes));
    io.onOutputEnd(() => {
      this.outputEnded = true;
      this.checkDrained();
    });
  }

  /** Publish a control frame to the client (Ready, Exit, Error). */
  control(kind: Parameters<typeof controlFrame>[0], body: Record<string, unknown>): void {
    if (!this.nc.isClosed()) this.nc.publish(this.subject, controlFrame(kind, body));
  }

  private output(stream: OutputStream, bytes: Buffer): void {
    const kind = stream === 'stdout' ? FrameKinds.Stdout : FrameKinds.Stderr;
    for (let at = 0; at < bytes.length; at += MAX_FRAME_BYTES) {
      const part = bytes.subarray(at, at + MAX_FRAME_BYTES);
      if (!this.nc.isClosed())
        this.nc.publish(this.subject, dataFrame(kind, this.window.sent, part));
      this.window = sentBytes(this.window, part.length);
    }
    if (!canSend(this.window) && !this.paused) {
      this.paused = true;
      this.io.pause();
    }
  }

  /** The client consumed `consumed` bytes of output (cumulative). */
  acked(consumed: number): void {
    this.window = ackedBytes(this.window, consumed);
    if (this.paused && canSend(this.window)) {
      this.paused = false;
      this.io.resume();
    }
    this.checkDrained();
  }

  /**
   * Stdin at `offset`: written when it is the next byte expected; a repeat (or a frame after a
   * lost one) is dropped, and the client learns what was consumed from the ack.
   */
  stdin(offset: number, bytes: Uint8Array): void {
    if (offset !== this.stdinExpected) return;
    this.stdinExpected += bytes.length;
    this.io.write(bytes, () => {
      this.stdinConsumed += bytes.length;
      this.ackStdin();
    });
  }

  /** Acks of stdin, coalesced: one per turn of the event loop, however many writes finished. */
  private ackStdin(): void {
    if (this.ackPending) return;
    this.ackPending = true;
    setImmediate(() => {
      this.ackPending = false;
      this.control(FrameKinds.Ack, { consumed: this.stdinConsumed });
    });
  }

  /** Repeat the stdin ack (a heartbeat asks, in case the last one was lost). */
  repeatAck(): void {
    this.control(FrameKinds.Ack, { consumed: this.stdinConsumed });
  }

  /** Resolves once the output is closed and the client acknowledged every byte of it. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.whenDrained.push(resolve);
      this.checkDrained();
    });
  }

  /** Bytes of output sent so far. */
  get sent(): number {
    return this.window.sent;
  }

  private checkDrained(): void {
    if (!this.outputEnded || !drained(this.window)) return;
    for (const cb of this.whenDrained.splice(0)) cb();
  }
}
