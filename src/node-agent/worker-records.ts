import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Resources } from '../events/index.js';
import type { AdoptionRecord } from './supervisor/index.js';

/**
 * The directory of one worker's run (logs, report and status files) under an agent's state dir.
 * The one definition of the layout: the agent writes there and its log responder reads there.
 */
export function runDirOf(stateDir: string, workerId: string): string {
  return join(stateDir, 'runs', workerId.replaceAll(':', '_'));
}

/** What the agent remembers of a worker across its own restarts (kept in its state dir). */
export interface WorkerRecord extends Partial<AdoptionRecord> {
  readonly workerId: string;
  readonly jobId: string;
  readonly chunk: number;
  readonly attempt: number;
  readonly runDir: string;
  readonly memLimitMb: number;
  /** What the attempt holds on the node (its launch's request). Absent in older agents' records. */
  readonly request?: Resources;
  readonly timeoutS?: number;
  /**
   * The chunk's sequence in the launch message (its assignment): the loss fence compares it
   * with the node's latest `node.lost` (loss-fence.ts). Absent in records of older agents.
   */
  readonly assignedSeq?: number;
}

/**
 * Worker records on local disk: written before a launch and once its pid is known, removed once
 * its end is in the log. After a crash they are what reconciliation starts from. Writes go to a
 * temporary file and are renamed, so a kill -9 never leaves half a record.
 */
export function workerRecords(stateDir: string) {
  const dir = join(stateDir, 'workers');
  const file = (id: string) => join(dir, `${encodeURIComponent(id)}.json`);
  let made: Promise<unknown> | undefined; // the directory, made once (two saves per launch)
  return {
    async save(record: WorkerRecord): Promise<void> {
      await (made ??= mkdir(dir, { recursive: true }).catch((err: unknown) => {
        made = undefined;
        throw err;
      }));
      const tmp = `${file(record.workerId)}.tmp`;
      await writeFile(tmp, JSON.stringify(record));
      await rename(tmp, file(record.workerId));
    },
    async remove(id: string): Promise<void> {
      await unlink(file(id)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
    async all(): Promise<WorkerRecord[]> {
      const names = await readdir(dir).catch(() => [] as string[]);
      const records: WorkerRecord[] = [];
      for (const name of names.filter((n) => n.endsWith('.json'))) {
        try {
          records.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as WorkerRecord);
        } catch {
          // A record that cannot be read is useless for re-adoption; the log still has the worker.
        }
      }
      return records;
    },
  };
}
export type WorkerRecords = ReturnType<typeof workerRecords>;
