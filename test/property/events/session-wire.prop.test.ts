import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  FrameKinds,
  MAX_FRAME_BYTES,
  ackedBytes,
  canSend,
  controlFrame,
  dataFrame,
  decodeFrame,
  openWindow,
  sentBytes,
} from '../../../src/events/index.js';

const dataKindArb = fc.constantFrom(FrameKinds.Stdout, FrameKinds.Stderr, FrameKinds.Stdin);
const controlKindArb = fc.constantFrom(
  FrameKinds.Eof,
  FrameKinds.Ack,
  FrameKinds.Heartbeat,
  FrameKinds.Signal,
  FrameKinds.Resize,
  FrameKinds.Ready,
  FrameKinds.Exit,
  FrameKinds.Error,
);

describe('the session wire (pure)', () => {
  test.prop([dataKindArb, fc.maxSafeNat(), fc.uint8Array({ maxLength: 4096 })])(
    'a data frame decodes to its kind, offset and bytes',
    (kind, offset, bytes) => {
      const f = decodeFrame(dataFrame(kind, offset, bytes));
      expect(f).toEqual({ kind, offset, bytes });
    },
  );

  test.prop([controlKindArb, fc.dictionary(fc.string(), fc.jsonValue())])(
    'a control frame decodes to its kind and body',
    (kind, body) => {
      const f = decodeFrame(controlFrame(kind, body));
      expect(f).toEqual({ kind, body: JSON.parse(JSON.stringify(body)) });
    },
  );

  test.prop([fc.uint8Array({ maxLength: 64 })])('anything else is no frame or a frame', (b) => {
    // Never throws: both ends ignore what does not decode.
    const f = decodeFrame(b);
    if (f !== undefined) expect(f.kind).toBeGreaterThanOrEqual(1);
  });

  /**
   * A sender that sends only while `canSend` and a receiver whose acks arrive late, repeated,
   * out of order or wrong: in flight never exceeds the window by more than one read (what the
   * sender holds beyond a window), acks only move forward, and once every ack is in, it is drained.
   */
  test.prop([
    fc.integer({ min: 1, max: 1 << 20 }),
    fc.array(
      fc.oneof(
        fc.record({ send: fc.integer({ min: 1, max: MAX_FRAME_BYTES }) }),
        fc.record({ ack: fc.integer({ min: -10, max: 1 << 22 }) }),
        fc.record({ ackSent: fc.constant(true) }),
      ),
      { maxLength: 300 },
    ),
  ])('the credit window bounds what is in flight', (window, ops) => {
    let w = openWindow(window);
    let maxAcked = 0;
    for (const op of ops) {
      if ('send' in op) {
        if (!canSend(w)) continue;
        w = sentBytes(w, op.send);
      } else {
        const consumed = 'ack' in op ? op.ack : w.sent;
        w = ackedBytes(w, consumed);
      }
      expect(w.acked).toBeGreaterThanOrEqual(maxAcked);
      maxAcked = w.acked;
      expect(w.acked).toBeLessThanOrEqual(w.sent);
      expect(w.sent - w.acked).toBeLessThan(window + MAX_FRAME_BYTES);
    }
    w = ackedBytes(w, w.sent);
    expect(w.sent - w.acked).toBe(0);
  });
});
