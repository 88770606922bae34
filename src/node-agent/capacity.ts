import { execFile } from 'node:child_process';
import { cpus, hostname, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { Resources } from '../events/index.js';

const run = promisify(execFile);

/** What a node offers: its real capacity unless the operator says otherwise. */
export interface NodeCapacity extends Resources {
  readonly hostname: string;
}

/** GPUs as `nvidia-smi -L` lists them; 0 when the tool is absent or fails. */
async function countGpus(): Promise<number> {
  try {
    const { stdout } = await run('nvidia-smi', ['-L'], { timeout: 5_000 });
    return stdout.split('\n').filter((l) => l.startsWith('GPU ')).length;
  } catch {
    return 0;
  }
}

/**
 * The machine's CPUs, memory (MB) and GPUs, with overrides from the command line (`--cpus`,
 * `--mem`, `--gpus`): several agents on one machine each offer a share of it.
 */
export async function detectCapacity(over: Partial<Resources> = {}): Promise<NodeCapacity> {
  return {
    hostname: hostname(),
    cpus: over.cpus ?? cpus().length,
    memMb: over.memMb ?? Math.floor(totalmem() / (1024 * 1024)),
    gpus: over.gpus ?? (await countGpus()),
  };
}
