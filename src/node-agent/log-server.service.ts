import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ErrorCodes,
  LogRequestSchema,
  agentLogsSubject,
  badInput,
  decodeBody,
  encodeBody,
  hasCode,
  type LogReply,
  type LogRequest,
} from '../events/index.js';
import { readLog } from './supervisor/index.js';
import { runDirOf } from './worker-records.js';

/** At most this much text per reply (the reply must fit the server's max_payload). */
export const MAX_LOG_REPLY_BYTES = 256 * 1024;

async function readFrom(path: string, from: number): Promise<LogReply> {
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (from >= size) return { text: '', size, nextByte: size < from ? 0 : size };
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size - from, MAX_LOG_REPLY_BYTES));
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), size, nextByte: from + bytesRead };
  } finally {
    await fh.close();
  }
}

/** Answer one log request from the agent's state directory. */
export async function answerLogRequest(stateDir: string, req: LogRequest): Promise<LogReply> {
  const runDir = runDirOf(stateDir, req.worker);
  const path = join(runDir, req.stream);
  if (req.fromByte !== undefined) return readFrom(path, req.fromByte);
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  let text = await readLog(runDir, req.stream, { tailLines: req.tailLines ?? 200 });
  if (text.length > MAX_LOG_REPLY_BYTES) text = text.slice(-MAX_LOG_REPLY_BYTES);
  return { text, size, nextByte: size };
}

/**
 * The agent's log server: process logs stay on the agent's machine, so `drover logs` and
 * `drover explain` read them through NATS (the API asks on the same subject and schema, from
 * the vocabulary; the agent and the API never import each other). Serves `drover.agent.<node>.logs` (JSON or msgpack by
 * `Content-Type`); replies `{ok:true, text, size, nextByte}` or `{ok:false, error}`. The worker id
 * is validated, so a request cannot name a path outside the agent's run directory.
 * @example const sub = serveLogs(nc, 'node-1', join(dataDir, 'agents', 'node-1'));
 */
export function serveLogs(nc: NatsConnection, node: string, stateDir: string): Subscription {
  return nc.subscribe(agentLogsSubject(node), {
    callback: (err, msg) => {
      if (err) return;
      const type = msg.headers?.get('Content-Type') || undefined;
      void (async () => {
        try {
          const parsed = LogRequestSchema.safeParse(decodeBody(msg.data, type));
          if (!parsed.success) throw badInput('log request', parsed.error);
          const reply = await answerLogRequest(stateDir, parsed.data);
          msg.respond(encodeBody({ ok: true, ...reply }, type));
        } catch (e) {
          const error = hasCode(e, ErrorCodes.BadInput)
            ? { code: e.code, message: e.message, details: e.details }
            : { code: ErrorCodes.Unavailable, message: (e as Error).message };
          msg.respond(encodeBody({ ok: false, error }, type));
        }
        // A reply fails only on a closed connection (the agent is stopping): nobody to answer.
      })().catch(() => undefined);
    },
  });
}
