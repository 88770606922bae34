import { fc, test } from '@fast-check/vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellQuote } from '../../../src/dashboard/index.js';

/**
 * The job page shows a job's command as one shell-quoted line to copy: `sh -c` of that line must
 * run exactly the job's argv. Checked against the real /bin/sh: the command's name is an
 * executable of that name on PATH that prints its own name and arguments.
 */
const dir = mkdtempSync(join(tmpdir(), 'drover-quote-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REPORTER = `#!/bin/sh\nprintf '%s\\0' "$0" "$@"\n`;

/** What `sh -c line` runs, as argv (the name as found on PATH, then the arguments). */
function runLine(line: string): string[] {
  const r = spawnSync('/bin/sh', ['-c', line], { env: { PATH: dir }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sh -c ${JSON.stringify(line)}: ${r.stderr}`);
  const words = r.stdout.split('\0').slice(0, -1);
  return [basename(words[0] ?? ''), ...words.slice(1)];
}

/** Characters shells care about, mixed with any text. */
const special = fc.constantFrom(
  ...` '"\\$\`!*?[]{}()<>|&;#~=%\n\t-.,:@+^`.split(''),
  'if',
  'done',
  'A=1',
  'é',
  '日本',
);
const word = fc
  .array(fc.oneof(special, fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 6 })
  .map((parts) => parts.join('').replaceAll('\0', ''));
/**
 * dash's builtins: a shell runs its builtin for these names whatever the quoting, so the
 * reporter on PATH would not answer (the line still names the same command).
 */
const BUILTINS = new Set(
  '. : [ alias bg break cd chdir command continue echo eval exec exit export false fc fg getopts hash jobs kill local printf pwd read readonly return set shift test times trap true type ulimit umask unalias unset wait'.split(
    ' ',
  ),
);
/** A command name is a file name: no `/`, not empty, not `.` or `..`. */
const name = word
  .map((w) => w.replaceAll('/', ''))
  .filter((w) => w !== '' && w !== '..' && !BUILTINS.has(w) && Buffer.byteLength(w) < 200);

describe('shellQuote', () => {
  test.prop([name, fc.array(word, { maxLength: 6 })], { numRuns: 100 })(
    'sh -c of the quoted line runs the same argv',
    (cmd, args) => {
      const file = join(dir, cmd);
      writeFileSync(file, REPORTER);
      chmodSync(file, 0o755);
      try {
        expect(runLine(shellQuote([cmd, ...args]))).toEqual([cmd, ...args]);
      } finally {
        rmSync(file, { force: true });
      }
    },
  );

  it('leaves plain words bare and quotes only what needs it', () => {
    expect(shellQuote(['python3', 'sim.py', '--rows=40', './out dir', "it's"])).toBe(
      `python3 sim.py --rows=40 './out dir' 'it'\\''s'`,
    );
    expect(shellQuote(['A=1', 'x'])).toBe(`'A=1' x`);
    expect(shellQuote(['if', ''])).toBe(`'if' ''`);
  });
});
