import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parseMemoryMb } from '../../src/events/index.js';

describe('parseMemoryMb', () => {
  it.each([
    ['512M', 512],
    ['2G', 2048],
    ['1.5GiB', 1536],
    ['800', 800],
    ['512MB', 512],
    ['512MiB', 512],
    ['2g', 2048],
    [' 4 GB ', 4096],
    ['1T', 1024 * 1024],
    ['1536K', 2],
    ['1K', 1],
    ['0.1', 1],
  ])('%j is %d MiB', (text, mb) => {
    expect(parseMemoryMb(text)).toBe(mb);
  });

  it.each([
    '',
    '   ',
    'G',
    'lots',
    '-512M',
    '0',
    '0G',
    '0.0M',
    '2X',
    '2P',
    '800B',
    '800iB',
    '1.5.5G',
    '.5G',
    '1e3',
    'NaN',
    'Infinity',
    '2G2',
    `1${'0'.repeat(400)}`,
  ])('%j is not a memory size', (text) => {
    expect(parseMemoryMb(text)).toBeUndefined();
  });

  test.prop([fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom('', 'M', 'MB', 'MiB', 'm')])(
    'whole MiB parse to themselves',
    (n, unit) => {
      expect(parseMemoryMb(`${n}${unit}`)).toBe(n);
    },
  );

  test.prop([fc.string()])('returns a positive whole number or undefined', (text) => {
    const mb = parseMemoryMb(text);
    if (mb !== undefined) expect(Number.isSafeInteger(mb) && mb > 0).toBe(true);
  });
});
