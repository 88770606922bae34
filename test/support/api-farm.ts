import { spawn } from 'node:child_process';
import { startApiService, type ApiService } from '../../src/api/index.js';
import { quietLogger, startFarm, type Farm, type FarmOptions } from './farm.js';
import { droverArgv } from './cli-main.js';

/** A real farm (nats-server, scheduler, agents, each serving its logs) plus the API service. */
export interface ApiFarm extends Farm {
  readonly api: ApiService;
}

export async function startApiFarm(opts: FarmOptions = {}): Promise<ApiFarm> {
  const farm = await startFarm(opts);
  const api = await startApiService({ nc: farm.nc, logger: quietLogger });
  const stopFarm = farm.stop.bind(farm);
  return Object.assign(farm, {
    api,
    async stop() {
      await api.stop().catch(() => undefined);
      await stopFarm();
    },
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `drover ...` as a child process against `url`, as a person would (in `cwd` if given). */
export function drover(
  url: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  cwd?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, droverArgv(args), {
      env: { ...process.env, DROVER_NATS_URL: url, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(cwd !== undefined && { cwd }),
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
