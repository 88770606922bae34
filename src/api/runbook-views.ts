import { stateName, type RunbookSnapshot } from '../actors/index.js';
import type { Actor, Runbook } from '../events/index.js';

/** One step of a run as `drover runbook` and the dashboard show it. */
export interface RunbookStepView {
  index: number;
  id: string;
  kind: string;
  title?: string;
  /** `pending`, `in progress`, or how it ended: `done`, `skipped`, `timed_out`. */
  status: string;
  answer?: string | boolean;
  acted?: boolean;
  note?: string;
}

/** A runbook run (`drover.api.runbook.get`): where it stands and what each step did. */
export interface RunbookRunView {
  id: string;
  name: string;
  summary: string;
  /** `running`, `succeeded`, `aborted` or `failed`. */
  state: string;
  startedBy: Actor | null;
  startedAt: number | null;
  endedAt: number | null;
  args: Record<string, string>;
  /** The step to continue with (the one in progress, else the next): what resume does first. */
  at: number;
  steps: RunbookStepView[];
  reason?: string;
  /** The procedure the run follows, as it was when it began. */
  definition: Runbook;
}

/** A run as its view; undefined when the id names no run. Pure. */
export function runbookView(id: string, s: RunbookSnapshot): RunbookRunView | undefined {
  const c = s.context;
  if (!c.definition) return undefined;
  const steps = c.definition.steps.map((step, index): RunbookStepView => {
    const rec = c.steps[index] ?? {};
    const status = rec.outcome ?? (c.current === index ? 'in progress' : 'pending');
    return {
      index,
      id: step.id,
      kind: step.kind,
      ...(step.title !== undefined && { title: step.title }),
      status,
      ...(rec.answer !== undefined && { answer: rec.answer }),
      ...(rec.acted !== undefined && { acted: rec.acted }),
      ...(rec.note !== undefined && { note: rec.note }),
    };
  });
  return {
    id,
    name: c.definition.name,
    summary: c.definition.summary,
    state: stateName(s),
    startedBy: c.startedBy ?? null,
    startedAt: c.startedAt ?? null,
    endedAt: c.endedAt ?? null,
    args: { ...c.args },
    at: c.current ?? c.next,
    steps,
    ...(c.reason !== undefined && { reason: c.reason }),
    definition: c.definition,
  };
}
