import { z } from 'zod';
import { WorkerIdSchema } from './common.schemas.js';

/*
 * The wire of a node agent's log server (`drover.agent.<node>.logs`): the API asks, the agent
 * answers. Here, in the vocabulary, so the two meet on a subject and a schema and neither
 * imports the other. Pure.
 */

/**
 * A log request to one agent. `tailLines` returns the last lines; `fromByte` returns what was
 * written since that offset (how `drover logs -f` follows a file). The worker id is validated,
 * so a request cannot name a path outside the agent's run directory.
 */
export const LogRequestSchema = z.strictObject({
  worker: WorkerIdSchema,
  stream: z.enum(['stdout', 'stderr']),
  tailLines: z.number().int().positive().max(100_000).optional(),
  fromByte: z.number().int().nonnegative().optional(),
});
export type LogRequest = z.infer<typeof LogRequestSchema>;

/** The reply: the text, the file's size now, and the offset to ask from next time. */
export interface LogReply {
  text: string;
  size: number;
  nextByte: number;
}
