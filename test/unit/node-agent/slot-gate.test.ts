import { describe, expect, it } from 'vitest';
import { SlotGate, type Turn } from '../../../src/node-agent/slot-gate.js';

const cpu = (cpus: number, memMb = 16) => ({ cpus, memMb, gpus: 0 });

/** Which of `turns` have settled, by index (a pending promise stays out). */
async function settled(turns: Promise<Turn>[]): Promise<Map<number, Turn>> {
  const out = new Map<number, Turn>();
  turns.forEach((t, i) => void t.then((v) => out.set(i, v)));
  await new Promise((r) => setImmediate(r));
  return out;
}

describe('SlotGate: the node checks that a process fits it as it starts', () => {
  it('starts what fits at once and holds the rest until an exit frees room', async () => {
    const gate = new SlotGate(cpu(2, 1024));
    const turns = ['a', 'b', 'c', 'd'].map((w) => gate.acquire(w, cpu(1)));
    let s = await settled(turns);
    expect([...s.keys()].sort()).toEqual([0, 1]);
    expect(s.get(0)).toEqual({ kind: 'go', waited: false });
    expect(gate.queued).toBe(2);
    gate.release('a');
    s = await settled(turns);
    expect(s.get(2)).toEqual({ kind: 'go', waited: true });
    expect(s.has(3)).toBe(false);
  });

  it('keeps the order it was given: a small launch does not overtake a large one', async () => {
    const gate = new SlotGate(cpu(4, 1024));
    const big = gate.acquire('big-running', cpu(3));
    const turns = [gate.acquire('large', cpu(2)), gate.acquire('small', cpu(1))];
    await big;
    expect((await settled(turns)).size).toBe(0);
    gate.release('big-running');
    expect([...(await settled(turns)).keys()].sort()).toEqual([0, 1]);
  });

  it('counts memory and GPUs as well as CPUs', async () => {
    const gate = new SlotGate({ cpus: 8, memMb: 100, gpus: 1 });
    await gate.acquire('m', { cpus: 1, memMb: 80, gpus: 0 });
    await gate.acquire('g', { cpus: 1, memMb: 10, gpus: 1 });
    const turns = [gate.acquire('m2', { cpus: 1, memMb: 30, gpus: 0 })];
    expect((await settled(turns)).size).toBe(0);
    gate.release('g');
    expect((await settled(turns)).size).toBe(0);
    gate.release('m');
    expect((await settled(turns)).get(0)?.kind).toBe('go');
  });

  it('drops a waiting launch on its kill, and lets the next one in if it fits', async () => {
    const gate = new SlotGate(cpu(2, 1024));
    await gate.acquire('run', cpu(1));
    const turns = [gate.acquire('large', cpu(2)), gate.acquire('small', cpu(1))];
    expect(gate.isWaiting('large')).toBe(true);
    expect(gate.drop('large')).toBe(true);
    const s = await settled(turns);
    expect(s.get(0)).toEqual({ kind: 'dropped' });
    expect(s.get(1)).toEqual({ kind: 'go', waited: true });
    expect(gate.drop('small')).toBe(false);
  });

  it('counts re-adopted processes and turns every waiting launch back when closed', async () => {
    const gate = new SlotGate(cpu(1, 1024));
    gate.occupy('readopted', cpu(1));
    const turns = [gate.acquire('a', cpu(1)), gate.acquire('b', cpu(1))];
    expect((await settled(turns)).size).toBe(0);
    gate.close();
    const s = await settled(turns);
    expect(s.get(0)).toEqual({ kind: 'closed' });
    expect(s.get(1)).toEqual({ kind: 'closed' });
    expect(await gate.acquire('c', cpu(1))).toEqual({ kind: 'closed' });
  });

  it('lets a request larger than the node start alone instead of waiting for ever', async () => {
    const gate = new SlotGate(cpu(2, 1024));
    expect(await gate.acquire('huge', cpu(4))).toEqual({ kind: 'go', waited: false });
    const next = [gate.acquire('next', cpu(1))];
    expect((await settled(next)).size).toBe(0);
    gate.release('huge');
    gate.release('huge'); // idempotent: the exit and the launch's own cleanup both release
    expect((await settled(next)).get(0)?.kind).toBe('go');
  });
});

describe('SlotGate: a kill that overtakes its launch', () => {
  it('drops the launch that comes after its kill, once', async () => {
    const gate = new SlotGate(cpu(1, 1024));
    expect(gate.drop('early')).toBe(false);
    expect(await gate.acquire('early', cpu(1))).toEqual({ kind: 'dropped' });
    expect(await gate.acquire('early', cpu(1))).toEqual({ kind: 'go', waited: false });
    gate.drop('early'); // holds room: a kill of a running process is the supervisor's business
    expect(await gate.acquire('early', cpu(1))).toEqual({ kind: 'go', waited: false });
  });
});
