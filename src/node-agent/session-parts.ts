import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import {
  sessionBehaviour,
  type EntityRuntime,
  type SessionCommand,
  type SessionSnapshot,
} from '../actors/index.js';
import type { Actor } from '../events/index.js';
import type { Supervised } from './supervisor/index.js';

/**
 * What the agent's two session hosts share: a run attached to its client (session-host) and a
 * run inside an allocation (alloc-host) are opened, attached, stopped and ended the same way.
 */

/** A session command through the agent's runtime. */
export type SessionCommandFn = (
  id: string,
  c: SessionCommand,
) => ReturnType<EntityRuntime['execute']>;
/** The command meta of an agent's session event: `tag` keys it, so a repeat dedupes. */
export type SessionMeta = (id: string, tag: string) => { id: string; at: number; by: Actor };

/**
 * The session `id` once the log has it opened: the API appends `session.opened` right after the
 * job's submission is acknowledged, so a launch may overtake it (on a loaded machine, by
 * seconds): asked again for up to a minute. `undefined` when it never comes (then the variable
 * that named it is just a variable of an ordinary job).
 */
export async function untilOpened(
  runtime: EntityRuntime,
  id: string,
): Promise<SessionSnapshot | undefined> {
  for (let tries = 0; tries < 600; tries++) {
    const { state } = await runtime.load(sessionBehaviour, id);
    if (state.context.opened) return state;
    await sleep(100);
  }
  return undefined;
}

/** How a session's process is attached: a pty of the session's size, or pipes. */
export function attachOf(session: SessionSnapshot) {
  return session.context.opened?.tty
    ? { tty: true as const, cols: session.context.cols ?? 80, rows: session.context.rows ?? 24 }
    : { tty: false as const };
}

/** `session.stop_requested` with why (a refusal is logged), then the process stopped as a cancel. */
export async function stopSession(
  logger: Logger,
  command: SessionCommandFn,
  meta: SessionMeta,
  stop: { id: string; tag: string; reason: string; supervised: Supervised; graceMs: number },
): Promise<void> {
  const r = await command(stop.id, {
    type: 'StopSession',
    ...meta(stop.id, stop.tag),
    data: { reason: stop.reason },
  });
  if (!r.ok) logger.warn({ session: stop.id, why: r.rejection }, 'session stop');
  await stop.supervised.kill('cancel', { graceMs: stop.graceMs });
}
