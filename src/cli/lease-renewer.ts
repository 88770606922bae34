import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { OffThreadRenewal } from '../scheduler/main.js';
import type { RenewerWorkerData } from './lease-renewer.worker.js';

/**
 * The CLI's schedulers renew their lease from a worker thread (`lease-renewer.worker.ts`),
 * connected as the process is (`DROVER_NATS_URL`, its credentials). The thread runs the compiled
 * `.js` beside this module; run from the sources (tests), the one in `dist/` (which the tests'
 * global setup builds): a worker thread does not inherit the loader that runs TypeScript.
 */
export function offThreadRenewal(
  url: string,
  vars: Readonly<Record<string, string | undefined>> = process.env,
): OffThreadRenewal {
  const beside = new URL('./lease-renewer.worker.js', import.meta.url);
  const entry = existsSync(fileURLToPath(beside))
    ? beside
    : new URL('../../dist/cli/lease-renewer.worker.js', import.meta.url);
  return {
    start: (init) =>
      new Worker(entry, {
        workerData: { init, url, vars: { ...vars } } satisfies RenewerWorkerData,
      }),
  };
}
