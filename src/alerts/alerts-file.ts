import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import {
  defaultAlertRules,
  parseAlertRules,
  type AlertNotifyTarget,
  type AlertRules,
} from '../policy/alerts/index.js';

/** The rules in force and where they came from (`built-in` when no file). */
export interface LoadedAlertRules {
  readonly rules: AlertRules;
  readonly notify: readonly AlertNotifyTarget[];
  readonly source: string;
}

/**
 * Where alerts.yaml is looked for: `DROVER_ALERTS` when set (it must exist), else
 * `$DROVER_DATA_DIR/alerts.yaml` when it exists (the built-in rules otherwise).
 */
export function alertsFilePath(env: NodeJS.ProcessEnv = process.env): {
  path: string;
  required: boolean;
} {
  if (env.DROVER_ALERTS) return { path: env.DROVER_ALERTS, required: true };
  return { path: join(env.DROVER_DATA_DIR ?? '.drover', 'alerts.yaml'), required: false };
}

/**
 * Read and validate the rules file: BAD_INPUT naming the file and each field's path
 * (`alerts.yaml: rules.swapping.share: ...`), NOT_FOUND for a required file that is missing.
 */
export async function loadAlertRules(where = alertsFilePath()): Promise<LoadedAlertRules> {
  let text: string;
  try {
    text = await readFile(where.path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !where.required)
      return { rules: defaultAlertRules(), notify: [], source: 'built-in' };
    const code =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? ErrorCodes.NotFound : ErrorCodes.BadInput;
    throw new SchedulerError(code, `${where.path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw new SchedulerError(ErrorCodes.BadInput, `${where.path}: not valid YAML: ${first}`);
  }
  const parsed = parseAlertRules(doc);
  if (!parsed.ok) {
    const issues = parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new SchedulerError(ErrorCodes.BadInput, `${where.path}: ${issues}`, {
      details: { file: where.path, issues: parsed.issues },
    });
  }
  return { rules: parsed.rules, notify: parsed.notify, source: where.path };
}
