import {
  closeSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, SchedulerError } from '../../events/index.js';

/**
 * Default cap of each of `<runDir>/stdout` and `<runDir>/stderr`. Above it, on a sampling tick,
 * the oldest part is dropped and the newest half kept behind a one-line marker, so a chatty
 * process cannot fill the node's disk. Bytes written during the trim itself may be lost (see
 * `trimLogFile`).
 */
export const DEFAULT_LOG_CAP_BYTES = 8 * 1024 * 1024;

/** Pure: the marker line that replaces dropped output. */
export function trimMarker(droppedBytes: number): string {
  return `[drover: dropped ${droppedBytes} bytes of older output]\n`;
}

/**
 * Pure: where the kept part of an oversized log starts, or `undefined` if `size` is within
 * `cap`. Keeps the newest half of the cap; `tail` (the newest bytes) lets the cut move forward
 * to the next line start so the kept part starts on a whole line.
 */
export function planTrim(size: number, cap: number, tail?: Uint8Array): number | undefined {
  if (size <= cap) return undefined;
  const keep = Math.floor(cap / 2);
  let from = size - keep;
  if (tail && tail.length === keep) {
    const nl = tail.indexOf(0x0a);
    if (nl >= 0 && nl < tail.length - 1) from += nl + 1;
  }
  return from;
}

/**
 * Trim one log file in place if it exceeds `cap`. The process holds it with O_APPEND, so its
 * next write lands at the new end. Returns the bytes dropped (0 when nothing was done).
 *
 * It runs on every sampling tick of every worker, and the size check is one synchronous `stat`
 * of a file in the agent's own run dir (microseconds): the asynchronous one cost a thread-pool
 * round trip and a promise per file, 200 a second for 100 workers, a tenth of a busy agent's
 * thread in a mass cancel (issue 22). The trim itself is one run of synchronous calls, from
 * reading the size to writing the kept part back. Output the process writes between that read
 * and the write back is lost: with awaits between the steps (thread pool round trips,
 * milliseconds on a loaded machine) that window swallowed whole lines, once the very last line
 * of a test's output; now it is a few system calls long.
 */
export async function trimLogFile(path: string, cap: number): Promise<number> {
  const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  if (planTrim(size, cap) === undefined) return 0;
  const fd = openSync(path, 'r+');
  try {
    const now = fstatSync(fd).size;
    if (planTrim(now, cap) === undefined) return 0;
    const keep = Buffer.alloc(Math.floor(cap / 2));
    const bytesRead = readSync(fd, keep, 0, keep.length, now - keep.length);
    const from = planTrim(now, cap, keep.subarray(0, bytesRead)) as number;
    const kept = keep.subarray(from - (now - keep.length), bytesRead);
    const marker = Buffer.from(trimMarker(from));
    ftruncateSync(fd, 0);
    writeSync(fd, Buffer.concat([marker, kept]), 0, marker.length + kept.length, 0);
    return from;
  } finally {
    closeSync(fd);
  }
}

/** Pure: the last `n` lines of `text` (a trailing newline does not count as an empty line). */
export function tailLines(text: string, n: number): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(Math.max(0, lines.length - n)).join('\n') + (lines.length > 0 ? '\n' : '');
}

/**
 * The captured stdout or stderr of a worker, readable while the process runs (the process
 * writes to the file directly). Missing file: empty string. At most the cap (8 MiB) plus a
 * marker line, as older output is dropped.
 */
export async function readLog(
  runDir: string,
  stream: 'stdout' | 'stderr',
  opts: { tailLines?: number } = {},
): Promise<string> {
  let text: string;
  try {
    text = await readFile(join(runDir, stream), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new SchedulerError(ErrorCodes.Unavailable, `cannot read ${stream} of ${runDir}`, {
      cause: err,
    });
  }
  return opts.tailLines === undefined ? text : tailLines(text, opts.tailLines);
}
