import { setTimeout as sleep } from 'node:timers/promises';
import type { DroverProcess } from './drover-process.js';

/** Until `probe` answers; a generous bound against a hang, not a measure of speed. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await sleep(100);
  }
}

/**
 * The JSON lines of a service's output (pino's logs and its one `--json` document): whole lines
 * only, since the output may be read while a line is half written.
 */
export const jsonLines = (p: DroverProcess) => {
  const out = p.output();
  return out
    .slice(0, out.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
};
export const logged = (p: DroverProcess, msg: string) => jsonLines(p).filter((l) => l.msg === msg);
export const running = (p: DroverProcess) =>
  p.child.exitCode === null && p.child.signalCode === null;
/** The `--json` document a service prints once it is up (`{ epoch }`, `{ node }`). */
export const upDoc = (p: DroverProcess, key: string) => {
  const doc = jsonLines(p).find((l) => key in l && !('msg' in l));
  if (!doc && !running(p)) throw new Error(`exited ${p.child.exitCode}: ${p.output()}`);
  return doc;
};
