import { describe, expect, it } from 'vitest';
import { drover } from '../../support/api-farm.js';

/**
 * Mistakes on the command line speak the contract (CONTRACT.md "Names"): `error: <code>:
 * <message>` as one line on stderr, or with `--json` one JSON error document on stdout, and exit
 * 2 (bad input); commander's own text and exit 1 must not leak. Real `drover` processes; no farm
 * is needed (nothing is asked of NATS before the line is understood), so the URL goes nowhere.
 */
const NOWHERE = 'nats://127.0.0.1:1';
const cli = (...args: string[]) => drover(NOWHERE, args, { DROVER_USER: 'ada' }, 30_000);

/** The same command line with `--json` (before any `--`, where options end). */
function withJson(args: readonly string[]): string[] {
  const at = args.indexOf('--');
  return at < 0 ? [...args, '--json'] : [...args.slice(0, at), '--json', ...args.slice(at)];
}

const CASES: [what: string, args: string[], message: string][] = [
  ['an unknown option', ['submit', '--bogus', '--', 'true'], "unknown option '--bogus'"],
  ['a missing argument', ['show'], "missing required argument 'job'"],
  ['an unknown command', ['frob'], "unknown command 'frob'"],
  ['a bad --mem', ['submit', '--mem', '4X', '--', 'true'], '--mem 4X: expected a size like 512M'],
  ['a bad --cpus', ['submit', '--cpus', 'abc', '--', 'true'], '--cpus abc: expected a number'],
  ['a bad --timeout', ['submit', '--timeout', '5y', '--', 'true'], '--timeout 5y: expected'],
  ['a bad agent --mem', ['agent', '--mem', '4X'], '--mem 4X: expected a size like 512M'],
];

describe('drover command-line mistakes (real processes)', () => {
  it.each(CASES)(
    '%s: one error line on stderr, exit 2',
    async (_what, args, message) => {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: BAD_INPUT: [^\n]+\n$/);
      expect(r.stderr).toContain(message);
    },
    30_000,
  );

  it.each(CASES)(
    '%s with --json: one JSON error document on stdout, exit 2',
    async (_w, args, message) => {
      const r = await cli(...withJson(args));
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('');
      expect(r.stdout.endsWith('\n')).toBe(true);
      expect(r.stdout.trimEnd().includes('\n')).toBe(false);
      const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      expect(doc.error.code).toBe('BAD_INPUT');
      expect(doc.error.message).toContain(message);
    },
    30_000,
  );

  it('help still prints and exits 0, for the program and for a command', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^Usage: drover /);
    const show = await cli('show', '--help');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^Usage: drover show /);
    const help = await cli('help', 'submit');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: drover submit /);
  }, 60_000);
});
