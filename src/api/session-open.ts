import { sessionBehaviour, stateName } from '../actors/index.js';
import { ErrorCodes, SchedulerError, type EventData } from '../events/index.js';
import { actorOf, metaOf, type ApiContext, type ApiRequest } from './api-context.js';

/**
 * What opening a session and opening an allocation share (`session.open`, `session.alloc`): the
 * client chooses the id, so one taken already is refused; `session.opened` goes through the
 * runtime with the caller as who, and a refusal of the machine is the caller's `Refused`.
 */

/** Refuses `id` when a session (run or allocation) was ever opened under it. */
export async function refuseTakenId(ctx: ApiContext, id: string): Promise<void> {
  if (stateName((await ctx.runtime.load(sessionBehaviour, id)).state) !== 'none')
    throw new SchedulerError(ErrorCodes.Refused, `id: session ${id} exists already`);
}

/** Appends `session.opened` for `id` (`tag` keys a retried request), or throws `Refused`. */
export async function openSession(
  ctx: ApiContext,
  req: ApiRequest,
  id: string,
  tag: string,
  data: EventData<'session.opened'>,
): Promise<void> {
  const out = await ctx.runtime.execute(sessionBehaviour, id, {
    type: 'OpenSession',
    ...metaOf(ctx, req, actorOf(req.caller), tag),
    data,
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
}

/** `NotFound` naming the request field `path`, as a bad request names its field. */
export function notFound(path: string, message: string): SchedulerError {
  return new SchedulerError(ErrorCodes.NotFound, `${path}: ${message}`, {
    details: { issues: [{ path, message }] },
  });
}
