import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { startFarm, type Farm } from '../../support/farm.js';

describe('a farm runs jobs end to end', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({ agents: 2 });
  }, 30_000);
  afterAll(async () => farm?.stop(), 30_000);

  it('runs a chunked job to success, with results and the process environment', async () => {
    const id = await farm.submit({
      name: 'env',
      user: 'alice',
      command: ['sh', '-c', 'echo "{\\"result\\":{\\"chunk\\":$DROVER_CHUNK,\\"of\\":$DROVER_CHUNKS}}" >> "$DROVER_REPORT"'],
      chunks: 3,
      cpus: 0.5,
      memMb: 128,
    });
    const job = await farm.waitFor(id);
    expect(stateName(job)).toBe('succeeded');
    const chunk = await farm.events('chunk', `${id}:2`);
    const success = chunk.find((e) => e.type === 'chunk.succeeded');
    expect(success?.data).toMatchObject({ attempt: 1, result: { chunk: 2, of: 3 } });
  }, 30_000);

  it('fails a job whose command exits non-zero, with the cause', async () => {
    const id = await farm.submit({ name: 'bad', user: 'bob', command: ['sh', '-c', 'exit 3'], memMb: 64 });
    const job = await farm.waitFor(id);
    expect(stateName(job)).toBe('failed');
    expect(job.context.outcome?.cause).toBe('ExitNonZero');
  }, 30_000);

  it('a job no node could ever fit waits with every reason that applies, written as an event', async () => {
    const dep = await farm.submit({ name: 'slow', user: 'erin', command: ['sleep', '30'], memMb: 16 });
    const id = await farm.submit({ name: 'huge', user: 'erin', command: ['true'], memMb: 64 * 1024 });
    const picky = await farm.submit({ name: 'picky', user: 'erin', command: ['true'], memMb: 16, labels: { gpu: 'a100' } });
    const blocked = await farm.submit({ name: 'later', user: 'erin', command: ['true'], after: [dep], memMb: 16 });
    const deadline = Date.now() + 10_000;
    let codes: string[] = [];
    let depCodes: string[] = [];
    let pickyCodes: string[] = [];
    while (Date.now() < deadline && (!codes.length || !depCodes.length || !pickyCodes.length)) {
      codes = (await farm.job(id)).context.pending?.reasons.map((r) => r.code) ?? [];
      pickyCodes = (await farm.job(picky)).context.pending?.reasons.map((r) => r.code) ?? [];
      depCodes = (await farm.job(blocked)).context.pending?.reasons.map((r) => r.code) ?? [];
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(codes).toEqual(['Unsatisfiable']);
    expect(pickyCodes).toEqual(['Constraint']);
    expect(depCodes).toEqual(['Dependency']);
    const note = (await farm.events('job', id)).find((e) => e.type === 'job.pending_noted');
    expect(note?.type === 'job.pending_noted' && note.data.reasons.every((r) => r.unblock.length > 0)).toBe(true);
  }, 30_000);
});
