import { describe, expect, it } from 'vitest';
import {
  MAX_REPORT_LINE,
  parseReportChunk,
  parseReportLine,
} from '../../../src/node-agent/supervisor/index.js';

describe('parseReportLine', () => {
  it.each([
    ['{"progress":0.5}', { progress: 0.5 }],
    [
      '{"progress":1,"checkpoint":"c","message":"m"}',
      { progress: 1, checkpoint: 'c', message: 'm' },
    ],
    ['{"checkpoint":"opaque text","extra":true}', { checkpoint: 'opaque text' }],
    ['{"result":{"a":[1,2]}}', { result: { a: [1, 2] } }],
    ['{"result":null,"progress":1}', { result: null }],
  ])('%s', (line, report) => {
    expect(parseReportLine(line)).toEqual(report);
  });

  it.each([
    ['not json', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['{"progress":1.5}', 'progress must be a number from 0 to 1'],
    ['{"progress":"half"}', 'progress must be a number from 0 to 1'],
    ['{"checkpoint":3}', 'checkpoint must be a string'],
    ['{"message":{}}', 'message must be a string'],
    ['{}', 'no progress, checkpoint, message or result'],
  ])('%s is an error', (line, error) => {
    expect(parseReportLine(line)).toEqual({ error });
  });

  it('refuses an oversized line', () => {
    const line = JSON.stringify({ message: 'x'.repeat(MAX_REPORT_LINE) });
    expect(parseReportLine(line)).toHaveProperty('error');
  });
});

describe('parseReportChunk', () => {
  it('carries an unfinished line to the next chunk', () => {
    const a = parseReportChunk('', '{"progress":0.1}\n{"progr', false);
    expect(a.reports).toEqual([{ progress: 0.1 }]);
    expect(a.carry).toBe('{"progr');
    const b = parseReportChunk(a.carry, 'ess":0.2}\n', false);
    expect(b).toEqual({ reports: [{ progress: 0.2 }], errors: [], carry: '' });
  });

  it('parses the unterminated last line when final', () => {
    const r = parseReportChunk('', '{"result":7}', true);
    expect(r).toEqual({ reports: [{ result: 7 }], errors: [], carry: '' });
  });

  it('skips blank lines, reports bad ones and keeps going', () => {
    const r = parseReportChunk('', '\n  \nbad\n{"progress":1}\r\n', false);
    expect(r.reports).toEqual([{ progress: 1 }]);
    expect(r.errors).toEqual([{ line: 'bad', reason: 'not JSON' }]);
  });

  it('drops a carried line that grows past the limit', () => {
    const r = parseReportChunk('', 'x'.repeat(MAX_REPORT_LINE + 1), false);
    expect(r.carry).toBe('');
    expect(r.errors).toHaveLength(1);
  });
});
