import type { DestinationStream } from 'pino';

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/**
 * One pino JSON line as a person reads it: `12:04:05 WARN  drover agent node-1: msg k=v`.
 * Pure. A line that is not JSON is returned as it is. Errors show their message, not the stack
 * (the JSON form, `LOG_FORMAT=json`, keeps everything).
 */
export function prettyLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(Number(o.time)).toISOString().slice(11, 19);
  const level = LEVELS[Number(o.level)] ?? String(o.level);
  const who = [o.name, o.component, o.node].filter((x) => typeof x === 'string').join(' ');
  const rest = Object.entries(o)
    .filter(([k]) => !SKIP.has(k) && k !== 'component' && k !== 'node')
    .map(([k, v]) => `${k}=${k === 'err' ? errText(v) : JSON.stringify(v)}`);
  return `${time} ${level} ${who}: ${String(o.msg ?? '')}${rest.length ? ` ${rest.join(' ')}` : ''}\n`;
}

function errText(v: unknown): string {
  const e = v as { type?: string; message?: string };
  return JSON.stringify(`${e.type ?? 'Error'}: ${e.message ?? ''}`);
}

/**
 * Where a command's logs go: human lines on a terminal, pino's JSON lines when stderr is not a
 * terminal (files, pipes, collectors) or when `LOG_FORMAT=json` asks for them.
 */
export function logDestination(
  out: NodeJS.WriteStream = process.stderr,
  format = process.env.LOG_FORMAT,
): DestinationStream | undefined {
  if (!out.isTTY || format === 'json') return undefined;
  return { write: (s: string) => void out.write(prettyLine(s.trimEnd())) };
}
