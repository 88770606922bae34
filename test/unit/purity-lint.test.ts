import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

const impure = [
  "import { connect } from '@nats-io/transport-node';",
  "import pino from 'pino';",
  "import { readFile } from 'node:fs/promises';",
  "import { spawn } from 'node:child_process';",
  'export const now = Date.now();',
  'export const t = new Date();',
  'export const r = Math.random();',
  'export const id = crypto.randomUUID();',
  'export const env = process.env.HOME;',
];

describe('the purity rule (DESIGN.md: pure folders have no I/O, clock or randomness)', () => {
  for (const folder of [
    'src/events/codec.ts',
    'src/actors/x.machine.ts',
    'src/projections/usage.projection.ts',
    'src/policy/queue.ts',
  ]) {
    it(`refuses each impure construct in ${folder}`, async () => {
      for (const line of impure) {
        const found = await ruleIds(`${line}\nvoid 0;\n`, folder);
        expect(
          found.some((m) => m.startsWith('no-restricted')),
          `${line} in ${folder}`,
        ).toBe(true);
      }
    });
  }

  it('allows them in the adapters and shells', async () => {
    for (const file of [
      'src/events/event-log.jetstream.ts',
      'src/scheduler/scheduler.service.ts',
      'src/cli/main.ts',
    ]) {
      for (const line of impure) {
        const found = await ruleIds(`${line}\n`, file);
        expect(
          found.filter((m) => m.startsWith('no-restricted')),
          `${line} in ${file}`,
        ).toEqual([]);
      }
    }
  });
});
