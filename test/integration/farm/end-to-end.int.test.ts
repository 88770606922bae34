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
});
