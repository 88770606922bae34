/**
 * The wire of a session's bytes on core NATS (never in the log): binary frames, so 100 MB of
 * output is not 133 MB of base64 or JSON. Pure.
 *
 * A data frame is `[kind u8][offset f64 BE][bytes]`: `offset` is where its first byte sits in
 * its stream (stdout and stderr share one output stream, so one credit covers both), which
 * lets the receiver see a lost frame instead of silently corrupting the output. A control frame
 * is `[kind u8][JSON]`.
 */
export const FrameKinds = {
  /** agent → client: the command's stdout / stderr (one output stream). */
  Stdout: 1,
  Stderr: 2,
  /** client → agent: stdin bytes; `Eof` ends stdin. */
  Stdin: 3,
  Eof: 4,
  /** Either way: "I have consumed `consumed` bytes of your stream" (cumulative credit). */
  Ack: 5,
  /** client → agent, every second: the client is alive (and repeats its last ack). */
  Heartbeat: 6,
  /** client → agent: deliver this signal to the process group (Ctrl-C without a tty). */
  Signal: 7,
  /** API → agent: the pty's new size (after `session.resized` is in the log). */
  Resize: 8,
  /** agent → client: the process runs (node, pid). */
  Ready: 9,
  /** agent → client: the process ended and every output byte was acknowledged. */
  Exit: 10,
  /** agent → client: the session cannot go on (lost output, refused attach). */
  Error: 11,
} as const;
export type FrameKind = (typeof FrameKinds)[keyof typeof FrameKinds];

const DATA_HEADER = 9;
const DATA_KINDS: ReadonlySet<number> = new Set([
  FrameKinds.Stdout,
  FrameKinds.Stderr,
  FrameKinds.Stdin,
]);

/** A decoded frame. */
export type Frame =
  | {
      kind: typeof FrameKinds.Stdout | typeof FrameKinds.Stderr | typeof FrameKinds.Stdin;
      offset: number;
      bytes: Uint8Array;
    }
  | { kind: Exclude<FrameKind, 1 | 2 | 3>; body: Record<string, unknown> };

/** A data frame: `bytes` at `offset` of its stream. Pure. */
export function dataFrame(
  kind: typeof FrameKinds.Stdout | typeof FrameKinds.Stderr | typeof FrameKinds.Stdin,
  offset: number,
  bytes: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(DATA_HEADER + bytes.length);
  out[0] = kind;
  new DataView(out.buffer).setFloat64(1, offset);
  out.set(bytes, DATA_HEADER);
  return out;
}

/** A control frame with a small JSON body. Pure. */
export function controlFrame(
  kind: Exclude<FrameKind, 1 | 2 | 3>,
  body: Record<string, unknown> = {},
): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(body));
  const out = new Uint8Array(1 + json.length);
  out[0] = kind;
  out.set(json, 1);
  return out;
}

/** Decode a frame; `undefined` for anything that is not one (ignored by both ends). Pure. */
export function decodeFrame(data: Uint8Array): Frame | undefined {
  const kind = data[0];
  if (kind === undefined || kind < 1 || kind > FrameKinds.Error) return undefined;
  if (DATA_KINDS.has(kind)) {
    if (data.length < DATA_HEADER) return undefined;
    const offset = new DataView(data.buffer, data.byteOffset, data.length).getFloat64(1);
    if (!Number.isSafeInteger(offset) || offset < 0) return undefined;
    return { kind: kind as 1 | 2 | 3, offset, bytes: data.subarray(DATA_HEADER) };
  }
  try {
    const body: unknown = JSON.parse(new TextDecoder().decode(data.subarray(1)));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    return { kind: kind as Exclude<FrameKind, 1 | 2 | 3>, body: body as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/** The largest payload of one data frame: well under NATS's default 1 MB max payload. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Bytes a sender may have in flight unacknowledged (per session and direction). */
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;

/**
 * The sender's side of credit-based flow control. Pure (a value, no I/O). The sender may have
 * at most `window` bytes sent and not yet acknowledged as consumed; past that it stops reading
 * its source (the process then blocks on write: its own back-pressure), so neither end ever
 * buffers more than a window per session, however much the command prints, and a session that
 * is not read holds nobody else up. Acks are cumulative, so a lost or repeated ack is harmless.
 */
export interface SendWindow {
  readonly window: number;
  /** Bytes sent so far (the offset of the next frame). */
  readonly sent: number;
  /** Bytes the receiver said it consumed (monotonic). */
  readonly acked: number;
}

/** A fresh window. Pure. */
export const openWindow = (window = DEFAULT_WINDOW_BYTES): SendWindow => ({
  window,
  sent: 0,
  acked: 0,
});

/** Whether the sender may send more now. Pure. */
export const canSend = (w: SendWindow): boolean => w.sent - w.acked < w.window;

/** After sending `n` bytes. Pure. */
export const sentBytes = (w: SendWindow, n: number): SendWindow => ({ ...w, sent: w.sent + n });

/**
 * After an ack of `consumed` bytes: only a forward, possible ack counts (a stale, repeated or
 * impossible one, beyond what was sent, changes nothing). Pure.
 */
export function ackedBytes(w: SendWindow, consumed: number): SendWindow {
  if (!Number.isSafeInteger(consumed) || consumed <= w.acked || consumed > w.sent) return w;
  return { ...w, acked: consumed };
}

/** Everything sent was acknowledged. Pure. */
export const drained = (w: SendWindow): boolean => w.acked === w.sent;
