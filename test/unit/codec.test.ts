import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  ErrorCodes,
  decodeEvent,
  encodeEvent,
  validateEvent,
  type ErrorCode,
  type EventOf,
  type LogPosition,
} from '../../src/events/index.js';

const by = { kind: 'user', id: 'alice' } as const;
const header = { id: 'e-1', at: 1_700_000_000_000, by };

const submitted: EventOf<'job.submitted'> = {
  type: 'job.submitted',
  v: 2,
  ...header,
  data: {
    name: 'render',
    user: 'alice',
    pool: 'gpu',
    command: ['blender', '-b', 'scène.blend'],
    cpus: 2,
    memMb: 4096,
    gpus: 1,
    chunks: 10,
    retries: 2,
    after: [],
    labels: { team: 'fx' },
    excludeNodes: [],
    priority: 0,
    env: {},
  },
};

/** Decode, expecting a DecodeError with `code`; returns it. */
function refusal(bytes: Uint8Array, code: ErrorCode, where?: LogPosition): DecodeError {
  let caught: unknown;
  try {
    decodeEvent(bytes, where);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DecodeError);
  expect((caught as DecodeError).code).toBe(code);
  return caught as DecodeError;
}

describe('decodeEvent: upcasting', () => {
  it('lifts job.submitted v1 (mem as text, no pool) to v2 with memMb and the default pool', () => {
    const v1 = {
      type: 'job.submitted',
      v: 1,
      ...header,
      data: { name: 'n', user: 'bob', command: ['x'], mem: '2G' },
    };
    expect(decodeEvent(pack(v1))).toEqual({
      type: 'job.submitted',
      v: 2,
      ...header,
      data: {
        name: 'n',
        user: 'bob',
        command: ['x'],
        memMb: 2048,
        pool: 'default',
        cpus: 1,
        gpus: 0,
        chunks: 1,
        retries: 0,
        after: [],
        labels: {},
        excludeNodes: [],
        priority: 0,
        env: {},
      },
    });
  });

  it('keeps what a v1 message did say (cpus, priority) and parses fractional units', () => {
    const data = { name: 'n', user: 'bob', command: ['x'], mem: '1.5GiB', cpus: 8, priority: 5 };
    const event = decodeEvent(pack({ type: 'job.submitted', v: 1, ...header, data }));
    expect(event.data).toMatchObject({ memMb: 1536, cpus: 8, priority: 5, pool: 'default' });
  });

  it('refuses v99 naming the type and the version', () => {
    const err = refusal(pack({ ...submitted, v: 99 }), ErrorCodes.UnknownEventVersion);
    expect(err.message).toContain('job.submitted v99');
  });

  it('refuses an old version that has no upcaster', () => {
    const err = refusal(
      pack({ type: 'job.queued', v: 0, ...header, data: {} }),
      ErrorCodes.UnknownEventVersion,
    );
    expect(err.message).toContain('job.queued v0');
  });
});

describe('decodeEvent: errors say where and what', () => {
  const where = { subject: 'drover.ev.job.J1', seq: 42 };

  it('puts subject and seq in the message and on the error', () => {
    const err = refusal(pack({ ...submitted, v: 99 }), ErrorCodes.UnknownEventVersion, where);
    expect(err.message).toContain('(seq 42 on drover.ev.job.J1)');
    expect(err).toMatchObject({ subject: 'drover.ev.job.J1', seq: 42, name: 'DecodeError' });
  });

  it('names the position for bytes that are not msgpack, keeping the cause', () => {
    const err = refusal(new Uint8Array([0x92, 0x01]), ErrorCodes.Decode, where);
    expect(err.message).toMatch(/not msgpack.*seq 42 on drover\.ev\.job\.J1/);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('names seq alone when the subject is unknown', () => {
    const err = refusal(pack([1, 2]), ErrorCodes.InvalidEvent, { seq: 7 });
    expect(err.message).toBe('event is not a map (seq 7)');
  });

  it('names the field path of an invalid value in the message and the issues', () => {
    const bad = { ...submitted, data: { ...submitted.data, memMb: 0 } };
    const err = refusal(pack(bad), ErrorCodes.InvalidEvent, where);
    expect(err.issues.map((i) => i.path)).toEqual(['data.memMb']);
    expect(err.message).toMatch(
      /^invalid job\.submitted: data\.memMb: .*\(seq 42 on drover\.ev\.job\.J1\)$/,
    );
  });

  it('lists every offending field, not only the first', () => {
    const bad = {
      ...submitted,
      at: -1,
      data: { ...submitted.data, memMb: 'lots', labels: { team: 7 } },
    };
    const err = refusal(pack(bad), ErrorCodes.InvalidEvent);
    expect(err.issues.map((i) => i.path).sort()).toEqual(['at', 'data.labels.team', 'data.memMb']);
  });

  it('refuses an unknown type, quoting it', () => {
    const err = refusal(pack({ ...submitted, type: 'job.exploded' }), ErrorCodes.UnknownEventType);
    expect(err.message).toContain('"job.exploded"');
  });

  it('refuses trailing bytes after the map', () => {
    const bytes = Buffer.concat([encodeEvent(submitted), Buffer.from([0x00])]);
    refusal(bytes, ErrorCodes.Decode);
  });

  it('refuses a type that is not a string with a DecodeError (not a TypeError)', () => {
    expect(() => validateEvent({ type: 10n, v: 1 })).toThrow(DecodeError);
    const err = refusal(pack({ ...submitted, type: [2n ** 40n] }), ErrorCodes.UnknownEventType);
    expect(err.message).toContain('unknown event type of type object');
  });
});

describe('decodeEvent: messages from other writers', () => {
  it('reads msgpackr default `pack` output with the keys in another order', () => {
    const { data, by: author, at, id, v, type } = submitted;
    const reversed = Object.fromEntries(Object.entries(data).reverse());
    const reordered = { data: reversed, by: { id: author.id, kind: author.kind }, at, id, v, type };
    expect(Object.keys(reordered.data)[0]).toBe('env');
    expect(decodeEvent(pack(reordered))).toEqual(submitted);
  });

  it('reads a message inside a larger buffer (a NATS payload is often a subarray)', () => {
    const bytes = encodeEvent(submitted);
    const framed = new Uint8Array(bytes.length + 10);
    framed.set(bytes, 5);
    expect(decodeEvent(framed.subarray(5, 5 + bytes.length))).toEqual(submitted);
  });

  it('reads 64-bit integers (how msgpack writers in other languages store epoch ms)', () => {
    const ready = { type: 'node.ready', v: 1, id: 'e-2', at: 1_700_000_000_000, by, data: {} };
    const uint64At = Buffer.from([0xcf, 0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00]);
    const entries = Object.entries(ready);
    const handWritten = Buffer.concat([
      Buffer.from([0x80 | entries.length]),
      ...entries.flatMap(([k, v]) => [pack(k), k === 'at' ? uint64At : pack(v)]),
    ]);
    expect(decodeEvent(handWritten)).toEqual(ready);
    expect(decodeEvent(pack({ ...ready, at: 1_700_000_000_000n }))).toEqual(ready);
  });

  it('refuses 64-bit integers past 2^53 rather than rounding them', () => {
    const ready = { type: 'node.ready', v: 1, id: 'e-2', at: 2n ** 60n, by, data: {} };
    const err = refusal(pack(ready), ErrorCodes.InvalidEvent);
    expect(err.issues.map((i) => i.path)).toEqual(['at']);
  });

  it('accepts an optional field written as undefined, and refuses a Date for `at`', () => {
    const ready = { type: 'node.ready', v: 1, id: 'e-2', at: 5, by, data: {} };
    expect(decodeEvent(pack({ ...ready, corr: undefined }))).toEqual(ready);
    const err = refusal(pack({ ...ready, at: new Date(5) }), ErrorCodes.InvalidEvent);
    expect(err.issues.map((i) => i.path)).toEqual(['at']);
  });
});

describe('upcasting job.submitted v1 with unreadable memory', () => {
  it('names data.memMb instead of guessing a size', async () => {
    const { pack } = await import('msgpackr');
    const { decodeEvent: decode } = await import('../../src/events/index.js');
    const v1 = {
      type: 'job.submitted',
      v: 1,
      id: 'e1',
      at: 1,
      by: { kind: 'user', id: 'alice' },
      data: { name: 'n', user: 'alice', command: ['true'], mem: 'lots' },
    };
    expect(() => decode(pack(v1))).toThrow(/data\.memMb/);
  });
});

describe('validated events are remembered only where it saves work', () => {
  it('marks what validateEvent returns (deciders), not what decoding returns (replay)', async () => {
    const {
      encodeEvent: encode,
      decodeEvent: decode,
      validateEvent: validate,
      wasValidated,
    } = await import('../../src/events/index.js');
    const raw = {
      type: 'job.queued',
      v: 1,
      id: 'q1',
      at: 1,
      by: { kind: 'scheduler', id: 's', epoch: 2 },
      data: {},
    };
    const checked = validate(raw);
    expect(wasValidated(checked)).toBe(true);
    expect(wasValidated(raw)).toBe(false);
    expect(wasValidated(decode(encode(checked)))).toBe(false);
  });
});
