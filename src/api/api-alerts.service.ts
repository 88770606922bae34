import { alertBehaviour, stateName } from '../actors/index.js';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import { actorOf, metaOf, type Handler } from './api-context.js';
import { alertList, alertView } from './alert-views.js';
import { RequestSchemas, parseRequest } from './protocol.js';

/** `drover.api.alerts.list`: firing alerts, or with `all` the resolved ones too. */
export const alertsList: Handler = async (ctx, req) => {
  const r = parseRequest('alerts list request', RequestSchemas['alerts.list'], req.body);
  return { alerts: alertList(ctx.live.model, { all: r.all === true }) };
};

/**
 * `drover.api.alerts.ack`: a person acknowledges an alert (recorded with who; the machine
 * refuses an ack from a service). Not needed for resolution: an alert resolves by itself.
 * NOT_FOUND for an alert that does not exist or never fired.
 */
export const alertsAck: Handler = async (ctx, req) => {
  const r = parseRequest('alerts ack request', RequestSchemas['alerts.ack'], req.body);
  const loaded = await ctx.runtime.load(alertBehaviour, r.id);
  const state = stateName(loaded.state);
  if (state === 'none' || state === 'withdrawn')
    throw new SchedulerError(ErrorCodes.NotFound, `no alert ${r.id}`);
  const out = await ctx.runtime.execute(alertBehaviour, r.id, {
    type: 'AcknowledgeAlert',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'alert-ack'),
    data: { ...(r.note !== undefined && { note: r.note }) },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  const view = alertView(r.id, out.state);
  return { alert: view ?? { id: r.id, state: stateName(out.state) } };
};
