import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { droverArgv } from './cli-main.js';


/** Run the real `drover` CLI against a server; resolves with its exit code and output. */
export function drover(
  url: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, droverArgv(args), {
      env: { ...process.env, DROVER_NATS_URL: url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A file path in a fresh temporary folder, and the means to remove it. */
export async function tempFile(name: string): Promise<{ path: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'drover-backup-'));
  return { path: join(dir, name), done: () => rm(dir, { recursive: true, force: true }) };
}
