const VARIABLE = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/** The variable names a template mentions (`drain {{node}}` → `['node']`), in order. Pure. */
export function variablesOf(template: string): string[] {
  return [...template.matchAll(VARIABLE)].map((m) => m[1] as string);
}

/**
 * Fill a template's `{{name}}` from `vars`. Pure. A name without a value is left as written:
 * files are checked when read (`runbookProblems`), so this only happens for a value that a
 * resumed run's answers no longer hold, and the text then says so plainly.
 */
export function fill(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(VARIABLE, (whole, name: string) => vars[name] ?? whole);
}

/** A duration as a runbook writes it (`500ms`, `30s`, `10m`, `2h`) in milliseconds. Pure. */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}
