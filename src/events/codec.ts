import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { DecodeError, ErrorCodes, type FieldIssue } from './errors.js';
import { eventCatalog, type DroverEvent } from './schemas.js';
import { upcast } from './upcasters.js';

/**
 * The wire codec of the log: msgpack maps (readable from any language, no shared record
 * structures to version), validated by the zod schema of the event's type on the way in and
 * lifted to the current version by the upcasters. Pure.
 */
const packr = new Packr({
  useRecords: false,
  // Other writers store integers above 2^32 (an epoch-ms `at`) as uint64/int64, which msgpackr
  // would return as a BigInt that no schema accepts; past 2^53 they still fail `.int()`.
  int64AsType: 'number',
});

/**
 * Events this codec has validated (decoded from the log, or built and checked by a decider).
 * Events are immutable by convention (readonly types), so the log's writer can skip a second
 * validation of the same object: the live path validates once, in `decide`.
 */
const validated = new WeakSet<object>();

/** True when `event` is an object this codec produced by validation. */
export function wasValidated(event: object): boolean {
  return validated.has(event);
}

/** Where a message sits in the log, for error messages. */
export interface LogPosition {
  readonly subject?: string;
  readonly seq?: number;
}

/** Encode an event for the log. Does not validate: writers validate before deciding. */
export function encodeEvent(event: DroverEvent): Uint8Array {
  return packr.pack(event);
}

/**
 * Decode and validate one message of the log. Throws a `DecodeError` naming the position and
 * every offending field; never returns a partially valid event.
 */
export function decodeEvent(bytes: Uint8Array, where: LogPosition = {}): DroverEvent {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err) {
    throw new DecodeError(ErrorCodes.Decode, 'message is not msgpack', where, { cause: err });
  }
  return checkEvent(raw, where);
}

/**
 * Validate an already unpacked value as an event (upcasting old versions), and remember the
 * result as validated so that appending it later does not validate it again.
 */
export function validateEvent(raw: unknown, where: LogPosition = {}): DroverEvent {
  const event = checkEvent(raw, where);
  validated.add(event);
  return event;
}

/** Validate without remembering: decoding (replay) and the writer's own gate. @internal */
export function checkEvent(raw: unknown, where: LogPosition = {}): DroverEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DecodeError(ErrorCodes.InvalidEvent, 'event is not a map', where);
  }
  const rec = raw as Record<string, unknown>;
  const entry = typeof rec.type === 'string' ? eventCatalog.get(rec.type) : undefined;
  if (!entry) {
    const named =
      typeof rec.type === 'string' ? JSON.stringify(rec.type) : `of type ${typeof rec.type}`;
    throw new DecodeError(ErrorCodes.UnknownEventType, `unknown event type ${named}`, where);
  }
  let candidate = rec;
  if (typeof rec.v === 'number' && Number.isInteger(rec.v) && rec.v !== entry.v) {
    const data = rec.data;
    const lifted =
      rec.v < entry.v && typeof data === 'object' && data !== null
        ? upcast(entry.type, rec.v, entry.v, data as Record<string, unknown>)
        : undefined;
    if (!lifted) {
      throw new DecodeError(
        ErrorCodes.UnknownEventVersion,
        `${entry.type} v${rec.v} is not a known version (current v${entry.v})`,
        where,
      );
    }
    candidate = { ...rec, v: entry.v, data: lifted };
  }
  const parsed = entry.schema.safeParse(candidate);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error);
    const first = issues[0];
    throw new DecodeError(
      ErrorCodes.InvalidEvent,
      `invalid ${entry.type}: ${first ? `${first.path}: ${first.message}` : 'schema mismatch'}`,
      { ...where, issues },
    );
  }
  return parsed.data as DroverEvent;
}

/** zod issues as `path: message` pairs (`data.memMb: Too big`). */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({
    path: i.path.length ? i.path.map(String).join('.') : '(root)',
    message: i.message,
  }));
}
