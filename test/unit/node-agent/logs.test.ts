import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planTrim, tailLines, trimMarker } from '../../../src/node-agent/supervisor/logs.js';
import { readLog, trimLogFile } from '../../../src/node-agent/supervisor/index.js';

describe('planTrim (pure)', () => {
  it('does nothing within the cap', () => {
    expect(planTrim(100, 100)).toBeUndefined();
  });
  it('keeps the newest half of the cap', () => {
    expect(planTrim(150, 100)).toBe(100);
  });
  it('moves the cut to the next line start', () => {
    const tail = new TextEncoder().encode('ab\n' + 'x'.repeat(47));
    expect(tail.length).toBe(50);
    expect(planTrim(150, 100, tail)).toBe(103);
  });
});

describe('tailLines (pure)', () => {
  it('returns the last n lines', () => {
    expect(tailLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(tailLines('a\nb', 5)).toBe('a\nb\n');
    expect(tailLines('', 3)).toBe('');
  });
});

describe('trimLogFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-logs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('drops the oldest part behind a marker and keeps whole newest lines', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line ${String(i).padStart(3, '0')}`);
    const text = lines.join('\n') + '\n'; // 200 lines of 9 bytes: 1800 bytes
    const path = join(dir, 'stdout');
    await writeFile(path, text);
    const dropped = await trimLogFile(path, 1000);
    const after = await readFile(path, 'utf8');
    expect(dropped).toBe(1800 - 495); // 500 kept, cut moved to the next line start
    expect(after).toBe(trimMarker(dropped) + text.slice(dropped));
    expect(after.split('\n')[1]).toMatch(/^line \d{3}$/);
    expect(await trimLogFile(path, 1000)).toBe(0);
  });

  it('readLog reads a missing log as empty', async () => {
    expect(await readLog(dir, 'stderr')).toBe('');
  });
});
