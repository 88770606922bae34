import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyReadModel, jobList, type ReadModel } from '../../../src/api/index.js';
import { jobPage } from '../../../src/api/job-pages.js';
import { farmHistory, recordAll } from '../../support/projection-history.js';

/** Job ids leave the model as the retention's `retire` makes them (the job and its list place). */
function letGo(model: ReadModel, id: string): void {
  model.jobs.delete(id);
  model.jobSeqs.delete(id);
}

/**
 * Page through `jobs --all` as a client does (`after` = the last page's `next`, resolved to that
 * job's place: from the model, or from `places`, what the log says, once it has left), letting
 * go of some jobs before each page, the cursor's own job included.
 */
function pageThrough(
  model: ReadModel,
  places: ReadonlyMap<string, number>,
  pageSize: number,
  leaving: readonly (readonly string[])[],
): string[] {
  const rows: string[] = [];
  let next: string | undefined;
  let turn = 0;
  do {
    const afterSeq = next === undefined ? undefined : places.get(next);
    const page = jobPage(
      model,
      { all: true },
      { pageSize, ...(afterSeq !== undefined && { afterSeq }) },
    );
    rows.push(...page.jobs.map((r) => r.id));
    next = page.next;
    for (const id of leaving[turn++] ?? []) letGo(model, id);
    if (next !== undefined && turn % 2 === 0) letGo(model, next);
  } while (next !== undefined);
  return rows;
}

describe('jobs paging across departures (pure)', () => {
  it('pages concatenate to the list in order, less only the jobs that left before their page, whatever leaves between pages', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.array(fc.nat(), { maxLength: 4 }), { maxLength: 30 }),
        (seed, pageSize, picks) => {
          const model = emptyReadModel();
          for (const e of recordAll(farmHistory(seed, { jobs: 25, tag: `q${seed}` })))
            applyEvent(model, e);
          const full = jobList(model, { all: true }).map((r) => r.id);
          const places = new Map(model.jobSeqs);
          // The model holds jobs in the order of their place: the list's order.
          expect(full.map((id) => places.get(id))).toEqual(
            full.map((id) => places.get(id)).sort((a, b) => (a ?? 0) - (b ?? 0)),
          );
          const leaving = picks.map((p) => p.map((i) => full[i % full.length] as string));
          const rows = pageThrough(model, places, pageSize, leaving);
          // Never a row twice, never out of order, never a job that was not listed.
          expect(new Set(rows).size).toBe(rows.length);
          const at = rows.map((id) => full.indexOf(id));
          expect(at.every((i, k) => i >= 0 && (k === 0 || i > (at[k - 1] as number)))).toBe(true);
          // Every job still in the model at the end was listed (nothing skipped by a departure).
          for (const id of model.jobs.keys()) expect(rows).toContain(id);
        },
      ),
      { numRuns: 60 },
    );
  });
});
