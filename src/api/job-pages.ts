import { MAX_BODY_BYTES } from '../events/index.js';
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
  /**
   * The page starts after the job whose `job.submitted` is at this stream sequence: the place of
   * the previous page's `next` in the list (`ReadModel.jobSeqs`, or the log's when that job has
   * left the model since). Absent: from the start.
   */
  afterSeq?: number;
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
 * after the place `afterSeq`, as many as `pageSize` and `maxBytes` allow; `next` (the last row's
 * id) when rows remain. A page always holds at least one row, so paging always moves on. The
 * cursor is a place in the list's order, not an offset and not a row that must still be there:
 * jobs that appear or leave the model between two pages (retention, compaction), the cursor's
 * own job included, do not shift it. Pure.
 */
export function jobPage(model: ReadModel, filter: JobFilter, page: PageRequest): JobPage {
  const rows = Math.min(page.pageSize ?? DEFAULT_PAGE_ROWS, filter.limit ?? Infinity);
  const maxBytes = page.maxBytes ?? PAGE_BYTES;
  const jobs: JobRow[] = [];
  let bytes = 0;
  for (const row of jobRows(model, filter, page.afterSeq)) {
    const size = Buffer.byteLength(JSON.stringify(row)) + 1;
    if (jobs.length >= rows || (jobs.length > 0 && bytes + size > maxBytes)) {
      return { jobs, next: (jobs.at(-1) as JobRow).id };
    }
    jobs.push(row);
    bytes += size;
  }
  return { jobs };
}
