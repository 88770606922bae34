import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ErrorCodes, SchedulerError, type Runbook } from '../events/index.js';
import { describeIssues } from '../policy/calendar/index.js';
import { parseRunbook } from '../policy/runbook/index.js';

/** The runbooks shipped with Drover (`runbooks/` beside package.json; src/cli and dist/cli alike). */
export const SHIPPED_RUNBOOKS = fileURLToPath(new URL('../../runbooks/', import.meta.url));

/** A runbook and the file it came from. */
export interface RunbookFile {
  readonly runbook: Runbook;
  readonly file: string;
}

/**
 * Where runbooks are read from, in order: the shipped folder, then each folder of
 * `DROVER_RUNBOOKS_DIR` (`:`-separated), then each `--dir`. A later folder's runbook replaces a
 * shipped one of the same name: operators adapt procedures without editing Drover's.
 */
export function runbookDirs(
  extra: readonly string[] = [],
  vars: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const fromEnv = (vars.DROVER_RUNBOOKS_DIR ?? '').split(':').filter((d) => d !== '');
  return [SHIPPED_RUNBOOKS, ...fromEnv, ...extra].map((d) => resolve(d));
}

const bad = (message: string) => new SchedulerError(ErrorCodes.BadInput, message);

/** Read and validate one runbook file; BAD_INPUT naming the file and the offending path. */
export async function readRunbookFile(file: string): Promise<RunbookFile> {
  const text = await readFile(file, 'utf8');
  let content: unknown;
  try {
    content = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw bad(`${file}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = parseRunbook(content);
  if (!parsed.ok) throw bad(`${file}: ${describeIssues(parsed.issues)}`);
  return { runbook: parsed.runbook, file };
}

/**
 * Every runbook of `dirs` by name (a missing folder is skipped: `DROVER_RUNBOOKS_DIR` may name
 * one not made yet). A bad file fails the whole read, naming it: a procedure that might be
 * wrong is not one to run at 3 a.m.
 */
export async function loadRunbooks(dirs: readonly string[]): Promise<Map<string, RunbookFile>> {
  const out = new Map<string, RunbookFile>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/i.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const here = new Set<string>();
    for (const name of names) {
      const found = await readRunbookFile(join(dir, name));
      if (here.has(found.runbook.name))
        throw bad(`${found.file}: name: ${found.runbook.name} is already a runbook in ${dir}`);
      here.add(found.runbook.name);
      out.set(found.runbook.name, found);
    }
  }
  return out;
}
