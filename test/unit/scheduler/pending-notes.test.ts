import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { JobSnapshot } from '../../../src/actors/index.js';
import { BURST, PendingNotes, type NoteOffer } from '../../../src/scheduler/pending-notes.js';
import type { Action, Peek } from '../../../src/scheduler/rules.js';

/** Jobs whose held reasons the test sets; `exec` settles when the test says. */
function notes(limit: number, drained?: (n: number) => void) {
  const held = new Map<string, string[]>();
  const peek = {
    job: (id: string) =>
      ({
        value: 'queued',
        context: { pending: { reasons: (held.get(id) ?? []).map((code) => ({ code })) } },
      }) as unknown as JobSnapshot,
  } as unknown as Peek;
  const started: Action[] = [];
  const settles: (() => void)[] = [];
  const writer = new PendingNotes({
    peek,
    limit,
    ...(drained && { drained }),
    logger: pino({ level: 'silent' }),
    exec: (a) => {
      started.push(a);
      return new Promise<void>((resolve) => settles.push(resolve));
    },
  });
  const note = (job: string, ...codes: string[]): NoteOffer => {
    const action = {
      entity: 'job',
      id: job,
      command: {
        type: 'NotePending',
        id: `pending:${job}`,
        at: 0,
        by: { kind: 'scheduler', id: 's' },
        data: {
          reasons: codes.map((code) => ({ code, message: code })),
          ahead: [],
          queueLength: 1,
        },
      },
    } as unknown as Action;
    const reasons = codes.map((code) => ({ code }));
    return { jobId: job, reasons, action: () => action };
  };
  const settleNext = async () => {
    settles.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { writer, held, started, note, settleNext };
}

const codesOf = (a: Action | undefined) =>
  a?.entity === 'job' && a.command.type === 'NotePending'
    ? `${a.id}:${a.command.data.reasons.map((r) => r.code).join(',')}`
    : undefined;

describe('PendingNotes: a burst of newly waiting jobs is written a few appends at a time', () => {
  it('keeps at most `limit` appends in flight and writes the rest as they land, in order', async () => {
    const { writer, started, note, settleNext } = notes(2);
    writer.offer(['a', 'b', 'c', 'd'].map((j) => note(j, 'Resources')));
    expect(started.map((a) => a.entity === 'job' && a.id)).toEqual(['a', 'b']);
    expect(writer.backlog).toBe(2);
    await settleNext();
    expect(started.map((a) => a.entity === 'job' && a.id)).toEqual(['a', 'b', 'c']);
    await settleNext();
    await settleNext();
    expect(started).toHaveLength(4);
    expect(writer.backlog).toBe(0);
  });

  it('counts a note as unwritten until its append settles (the backlog gauge reads it)', async () => {
    const { writer, note, settleNext } = notes(2);
    writer.offer(['a', 'b', 'c'].map((j) => note(j, 'Resources')));
    expect([writer.backlog, writer.unwritten]).toEqual([1, 3]);
    await settleNext();
    await settleNext();
    expect([writer.backlog, writer.unwritten]).toEqual([0, 1]);
    await settleNext();
    expect(writer.unwritten).toBe(0);
  });

  it('a newer note of a waiting job replaces the older one, keeping its place in line', async () => {
    const { writer, started, note, settleNext } = notes(1);
    writer.offer([note('a', 'Resources'), note('b', 'Resources'), note('c', 'Resources')]);
    writer.offer([note('b', 'Quota'), note('c', 'Priority')]);
    expect(writer.backlog).toBe(2);
    await settleNext();
    await settleNext();
    expect(started.map(codesOf)).toEqual(['a:Resources', 'b:Quota', 'c:Priority']);
  });

  it('drops a note whose reasons the job already holds when its turn comes', async () => {
    const { writer, held, started, note, settleNext } = notes(1);
    writer.offer([note('a', 'Resources'), note('b', 'Resources'), note('c', 'Quota')]);
    held.set('b', ['Resources']); // noted meanwhile (an earlier round's append landed)
    await settleNext();
    expect(started.map(codesOf)).toEqual(['a:Resources', 'c:Quota']);
  });

  it('tells `drained` once a burst of at least BURST notes is all written, and not before', async () => {
    const told: number[] = [];
    const { writer, note, settleNext } = notes(64, (n) => told.push(n));
    writer.offer(Array.from({ length: BURST }, (_, i) => note(`j${i}`, 'Resources')));
    for (let i = 0; i < BURST - 1; i++) await settleNext();
    expect(told).toEqual([]); // one still in flight
    await settleNext();
    expect(told).toEqual([BURST]);
    // A small round afterwards is no burst.
    writer.offer([note('late', 'Held')]);
    await settleNext();
    expect(told).toEqual([BURST]);
  });
});
