import { describe, expect, it } from 'vitest';
import { pipelineFlag } from '../../../src/cli/services.js';

describe('DROVER_PIPELINE', () => {
  it('is off unless set to 1 or true', () => {
    for (const v of [undefined, '', '0', 'false']) expect(pipelineFlag(v)).toBe(false);
    for (const v of ['1', 'true']) expect(pipelineFlag(v)).toBe(true);
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => pipelineFlag('yes')).toThrow(/DROVER_PIPELINE must be 1, true, 0 or false/);
  });
});
