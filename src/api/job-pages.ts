import { ErrorCodes, MAX_BODY_BYTES, SchedulerError } from '../events/index.js';
import type { ReadModel } from './read-model.js';
import { jobRows, type JobFilter, type JobRow } from './views.js';

/** Rows of a page when the request names no `pageSize`. */
export const DEFAULT_PAGE_ROWS = 2_000;

/**
 * Bytes of rows a page may carry: the body limit less room for the envelope (`ok`, `next`) and
 * for msgpack, whose per-string headers can exceed JSON's two quotes by a byte on long strings.
 */
export const PAGE_BYTES = Math.floor(MAX_BODY_BYTES * 0.9);

/** Where a page starts and how much it may hold (`drover.api.jobs.list` paging fields). */
export interface PageRequest {
  /** The `next` of the previous page: the id of its last row. */
  after?: string;
  /** At most this many rows (default `DEFAULT_PAGE_ROWS`). */
  pageSize?: number;
  /** At most this many bytes of rows, as JSON (default `PAGE_BYTES`; tests set less). */
  maxBytes?: number;
}

/** One page of `jobs`: the rows, and where the next page starts when there is one. */
export interface JobPage {
  jobs: JobRow[];
  next?: string;
}

/**
 * One page of the CONTRACT `jobs` rows, in the order of the full list (oldest first): the rows
 * after the job `after`, as many as `pageSize` and `maxBytes` allow; `next` when rows remain.
 * A page always holds at least one row, so paging always moves on. The cursor is the last row's
 * id rather than an offset: jobs that appear or leave the model between two pages do not shift
 * it. NOT_FOUND naming `after` when that job is no longer in the model. Pure.
 */
export function jobPage(model: ReadModel, filter: JobFilter, page: PageRequest): JobPage {
  if (page.after !== undefined && !model.jobs.has(page.after)) {
    throw new SchedulerError(
      ErrorCodes.NotFound,
      `after: job ${page.after} is no longer in the list; start again without after`,
      { details: { issues: [{ path: 'after', message: 'unknown job' }] } },
    );
  }
  const rows = Math.min(page.pageSize ?? DEFAULT_PAGE_ROWS, filter.limit ?? Infinity);
  const maxBytes = page.maxBytes ?? PAGE_BYTES;
  const jobs: JobRow[] = [];
  let bytes = 0;
  for (const row of jobRows(model, filter, page.after)) {
    const size = Buffer.byteLength(JSON.stringify(row)) + 1;
    if (jobs.length >= rows || (jobs.length > 0 && bytes + size > maxBytes)) {
      return { jobs, next: (jobs.at(-1) as JobRow).id };
    }
    jobs.push(row);
    bytes += size;
  }
  return { jobs };
}
