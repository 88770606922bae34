import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LabelledWriter } from '../../../src/cli/labelled-writer.js';
import { combinedExitCode } from '../../../src/cli/run-alloc.js';

async function through(label: string, chunks: (string | Buffer)[]): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  const w = new LabelledWriter(out, label);
  for (const c of chunks) w.write(c);
  await new Promise<void>((resolve) => w.end(resolve));
  return text;
}

describe('LabelledWriter', () => {
  it('labels each line, joining lines split across writes, ending the last one', async () => {
    expect(await through('[n1] ', ['a\nb', 'c\n', '\nd'])).toBe('[n1] a\n[n1] bc\n[n1] \n[n1] d\n');
  });

  it('keeps a character split across two writes whole', async () => {
    const euro = Buffer.from('€\n');
    expect(await through('[n2] ', [euro.subarray(0, 1), euro.subarray(1)])).toBe('[n2] €\n');
  });
});

describe('combinedExitCode', () => {
  it('is the first failing node in order, a signal as 128+n, else 0', () => {
    const ok = { exitCode: 0, signal: null, message: '' };
    expect(combinedExitCode([ok, ok])).toBe(0);
    expect(combinedExitCode([ok, { ...ok, exitCode: 3 }, { ...ok, exitCode: 1 }])).toBe(3);
    expect(combinedExitCode([{ exitCode: null, signal: 'SIGTERM', message: '' }, ok])).toBe(143);
  });
});
