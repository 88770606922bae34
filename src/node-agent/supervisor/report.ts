import type { ProtocolError, Report } from './types.js';

/** Longest report line accepted (bytes of text): results are meant to be small JSON. */
export const MAX_REPORT_LINE = 64 * 1024;

/** What one parse step yields: the reports and errors in line order, and the unfinished tail. */
export interface ReportParse {
  reports: Report[];
  errors: ProtocolError[];
  /** Text after the last newline, kept for the next chunk. */
  carry: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Pure: one report line to a `Report`, or the reason it is not one. Unknown keys are ignored
 * (forward compatible); a line with `result` is a result whatever else it holds.
 */
export function parseReportLine(line: string): Report | { error: string } {
  if (line.length > MAX_REPORT_LINE) return { error: `line longer than ${MAX_REPORT_LINE} bytes` };
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { error: 'not JSON' };
  }
  if (!isRecord(v)) return { error: 'not a JSON object' };
  if ('result' in v) return { result: v.result };
  const { progress, checkpoint, message } = v;
  if (
    progress !== undefined &&
    (typeof progress !== 'number' || !(progress >= 0 && progress <= 1))
  ) {
    return { error: 'progress must be a number from 0 to 1' };
  }
  if (checkpoint !== undefined && typeof checkpoint !== 'string') {
    return { error: 'checkpoint must be a string' };
  }
  if (message !== undefined && typeof message !== 'string')
    return { error: 'message must be a string' };
  if (progress === undefined && checkpoint === undefined && message === undefined) {
    return { error: 'no progress, checkpoint, message or result' };
  }
  const r: { progress?: number; checkpoint?: string; message?: string } = {};
  if (progress !== undefined) r.progress = progress;
  if (checkpoint !== undefined) r.checkpoint = checkpoint;
  if (message !== undefined) r.message = message;
  return r;
}

/**
 * Pure: parse the text appended to the report file since the last call. Lines are complete
 * only at a newline; the rest is carried over, unless `final` (the process has exited and will
 * write no more), when it is parsed too. Blank lines are skipped; bad lines become errors and
 * never stop the parse.
 */
export function parseReportChunk(carry: string, chunk: string, final: boolean): ReportParse {
  const lines = (carry + chunk).split('\n');
  const rest = final ? '' : (lines.pop() as string);
  const out: ReportParse = { reports: [], errors: [], carry: rest };
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    const r = parseReportLine(line);
    if ('error' in r) out.errors.push({ line: line.slice(0, 200), reason: r.error });
    else out.reports.push(r);
  }
  if (!final && rest.length > MAX_REPORT_LINE) {
    out.errors.push({
      line: rest.slice(0, 200),
      reason: `line longer than ${MAX_REPORT_LINE} bytes`,
    });
    out.carry = '';
  }
  return out;
}
