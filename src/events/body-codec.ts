import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { toFieldIssues } from './codec.js';
import { ErrorCodes, SchedulerError, type FieldIssue } from './errors.js';

/*
 * The body codec of Drover's request/reply subjects (CONTRACT "NATS API": JSON or msgpack by
 * `Content-Type`). It lives in the vocabulary because both ends use it: the API service and
 * its client, and the node agent's log server that the API asks. Pure.
 */

/** `Content-Type` of a msgpack body. */
export const MSGPACK = 'application/msgpack';
/** `Content-Type` of a JSON body (the default when absent). */
export const JSON_TYPE = 'application/json';
const packr = new Packr({ useRecords: false });
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Largest request body accepted (the intake and the log take 1 MiB messages, spec included). */
export const MAX_BODY_BYTES = 512 * 1024;

/** A zod failure as a BAD_INPUT error naming every field (in `details.issues`). Pure. */
export function badInput(what: string, error: z.ZodError): SchedulerError {
  const issues: FieldIssue[] = toFieldIssues(error);
  const words = issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ');
  return new SchedulerError(ErrorCodes.BadInput, `invalid ${what}: ${words}`, {
    details: { issues },
  });
}

/** Decode a request body by content type (JSON when absent); BAD_INPUT when unreadable. Pure. */
export function decodeBody(data: Uint8Array, contentType: string | undefined): unknown {
  if (data.length > MAX_BODY_BYTES) {
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `body: ${data.length} bytes is over ${MAX_BODY_BYTES}`,
      { details: { issues: [{ path: 'body', message: 'too large' }] } },
    );
  }
  if (data.length === 0) return {};
  try {
    return contentType === MSGPACK ? packr.unpack(data) : JSON.parse(decoder.decode(data));
  } catch (err) {
    const kind = contentType === MSGPACK ? 'msgpack' : 'JSON';
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `body: not valid ${kind}: ${(err as Error).message}`,
      { cause: err, details: { issues: [{ path: 'body', message: `not valid ${kind}` }] } },
    );
  }
}

/**
 * The refusal of a reply that came out at `bytes`, over `MAX_BODY_BYTES`: the asker's decoder
 * would refuse it (and over the server's max_payload it would not even be sent), so the asker
 * gets this error naming the request and the size instead of an unreadable body. Pure.
 */
export function oversizeReply(request: string, bytes: number): SchedulerError {
  return new SchedulerError(
    ErrorCodes.Refused,
    `${request}: the reply is ${bytes} bytes, over the ${MAX_BODY_BYTES}-byte body limit; ` +
      'ask for less (jobs.list pages with pageSize and after)',
    { details: { request, bytes, limit: MAX_BODY_BYTES } },
  );
}

/** Encode a reply in the request's content type. Pure. */
export function encodeBody(value: unknown, contentType: string | undefined): Uint8Array {
  return contentType === MSGPACK ? packr.pack(value) : encoder.encode(JSON.stringify(value));
}
