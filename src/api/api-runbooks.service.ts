import { runbookBehaviour, type RunbookCommand } from '../actors/index.js';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import { parseRunbook } from '../policy/runbook/index.js';
import { describeIssues } from '../policy/calendar/index.js';
import { actorOf, metaOf, type ApiContext, type ApiRequest, type Handler } from './api-context.js';
import { RequestSchemas, parseRequest, type Caller } from './protocol.js';
import { runbookView } from './runbook-views.js';

/** A short run id people can type: `rb-` and 10 hex digits of a fresh id. */
const newRunId = (ctx: ApiContext) => `rb-${ctx.newId().replace(/-/g, '').slice(0, 10)}`;

async function loadRun(ctx: ApiContext, id: string) {
  const loaded = await ctx.runtime.load(runbookBehaviour, id);
  const view = runbookView(id, loaded.state);
  if (!view) throw new SchedulerError(ErrorCodes.NotFound, `no runbook run ${id}`);
  return { loaded, view };
}

/** On a user's own surface, a run is the business of the user who started it. */
function refuseOthersRun(caller: Caller, id: string, startedBy: string | undefined): void {
  if (caller.user !== undefined && startedBy !== caller.user)
    throw new SchedulerError(
      ErrorCodes.Forbidden,
      `runbook run ${id} was started by ${startedBy}, not ${caller.user}`,
    );
}

/**
 * `drover.api.runbook.start`: validate the procedure (every problem named by its path,
 * BAD_INPUT) and start a run of it: `runbook.started` with the definition and arguments, by the
 * caller. Answers the run.
 */
export const runbookStart: Handler = async (ctx, req) => {
  const r = parseRequest('runbook start request', RequestSchemas['runbook.start'], req.body);
  const parsed = parseRunbook(r.definition);
  if (!parsed.ok)
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `invalid runbook: ${describeIssues(parsed.issues)}`,
      { details: { issues: parsed.issues } },
    );
  const id = newRunId(ctx);
  const out = await ctx.runtime.execute(runbookBehaviour, id, {
    type: 'StartRunbook',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'runbook-start'),
    data: { definition: parsed.runbook, args: r.args ?? {} },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  return { run: runbookView(id, out.state) };
};

/**
 * `drover.api.runbook.record`: one step of a run, through the runbook's machine (steps in order,
 * one at a time; a transition it does not allow is refused, REFUSED, and never written). The
 * event is by the caller: who answered what is in the audit.
 */
export const runbookRecord: Handler = async (ctx: ApiContext, req: ApiRequest) => {
  const r = parseRequest('runbook record request', RequestSchemas['runbook.record'], req.body);
  const { view } = await loadRun(ctx, r.id);
  refuseOthersRun(req.caller, r.id, view.startedBy?.id);
  const command = {
    type: r.command,
    ...metaOf(ctx, req, actorOf(req.caller, r.by), `runbook-${r.command}`),
    data: r.data,
  } as RunbookCommand;
  const out = await ctx.runtime.execute(runbookBehaviour, r.id, command);
  if (!out.ok) {
    const code = out.rejection.code === 'InvalidCommand' ? ErrorCodes.BadInput : ErrorCodes.Refused;
    throw new SchedulerError(code, out.rejection.message);
  }
  await ctx.live.reach(out.lastSeq);
  return { run: runbookView(r.id, out.state) };
};

/** `drover.api.runbook.get`: a run, read fresh from the log (the truth for a resume). */
export const runbookGet: Handler = async (ctx, req) => {
  const r = parseRequest('runbook get request', RequestSchemas['runbook.get'], req.body);
  return { run: (await loadRun(ctx, r.id)).view };
};

/** `drover.api.runbook.runs`: runs in progress (with `all`, every run), newest first. */
export const runbookRuns: Handler = async (ctx, req) => {
  const r = parseRequest('runbook runs request', RequestSchemas['runbook.runs'], req.body);
  const runs = [...ctx.live.model.runbooks]
    .flatMap(([id, s]) => {
      const v = runbookView(id, s);
      return v && (r.all || v.state === 'running') ? [v] : [];
    })
    .sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
  return { runs };
};
