import { runbookView, type ReadModel } from '../api/index.js';

/** A step of a run in progress, as the overview's runbook panel shows it. */
export interface RunbookPanelStep {
  id: string;
  kind: string;
  status: string;
  answer?: string | boolean;
}

/** A runbook run in progress: who runs it, since when, where it stands. */
export interface RunbookPanelRow {
  id: string;
  name: string;
  by: string;
  startedAt: number | null;
  at: number;
  steps: RunbookPanelStep[];
}

/** At most this many runs are pushed with every overview (newest first). */
const RUNS_SHOWN = 20;

/** The runbook runs in progress, newest first, from the read model. Pure. */
export function runbooksInProgress(model: ReadModel): RunbookPanelRow[] {
  const rows: RunbookPanelRow[] = [];
  for (const [id, s] of model.runbooks) {
    const v = runbookView(id, s);
    if (!v || v.state !== 'running') continue;
    rows.push({
      id,
      name: v.name,
      by: v.startedBy?.id ?? '',
      startedAt: v.startedAt,
      at: v.at,
      steps: v.steps.map((x) => ({
        id: x.id,
        kind: x.kind,
        status: x.status,
        ...(x.answer !== undefined && { answer: x.answer }),
      })),
    });
  }
  return rows.sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0)).slice(0, RUNS_SHOWN);
}
