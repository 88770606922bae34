import { describe, expect, it } from 'vitest';
import {
  parseStat,
  parseStatm,
  parseStatusVmRss,
  selectTree,
  signalTargets,
  sumUsage,
  type ProcStat,
} from '../../../src/node-agent/supervisor/proc.js';

// Captured on the dev machine (Linux 2-core), `cat /proc/self/stat` and a `sleep` child.
const CAT_STAT =
  '8957 (cat) R 8955 8955 4846 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 37244 3133440 411 ' +
  '18446744073709551615 94705404129280 94705404149161 140731689477024 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 ' +
  '94705404165168 94705404166784 94705661411328 140731689478687 140731689478707 140731689478707 ' +
  '140731689480171 0\n';
const BUSY_STAT =
  '4242 (my (odd) name) S 4200 4200 4846 0 -1 4194304 136 0 0 0 731 52 10 4 20 0 1 0 37245 ' +
  '2990080 25600 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n';

function stat(over: Partial<ProcStat>): ProcStat {
  return {
    pid: 1,
    comm: 'x',
    state: 'S',
    ppid: 0,
    pgid: 1,
    utime: 0,
    stime: 0,
    cutime: 0,
    cstime: 0,
    startTime: '1',
    rssPages: 0,
    ...over,
  };
}

describe('parseStat', () => {
  it('reads the fields the supervisor uses', () => {
    expect(parseStat(CAT_STAT)).toEqual({
      pid: 8957,
      comm: 'cat',
      state: 'R',
      ppid: 8955,
      pgid: 8955,
      utime: 0,
      stime: 0,
      cutime: 0,
      cstime: 0,
      startTime: '37244',
      rssPages: 411,
    });
  });

  it('counts fields after the last parenthesis, so odd command names parse', () => {
    expect(parseStat(BUSY_STAT)).toMatchObject({
      pid: 4242,
      comm: 'my (odd) name',
      pgid: 4200,
      utime: 731,
      stime: 52,
      cutime: 10,
      cstime: 4,
      rssPages: 25600,
    });
  });

  it('rejects text that is not a stat line', () => {
    expect(parseStat('')).toBeUndefined();
    expect(parseStat('12 (x) S 1 2')).toBeUndefined();
  });
});

describe('parseStatm and parseStatusVmRss', () => {
  it('read resident pages and VmRSS', () => {
    expect(parseStatm('765 426 398 5 0 123 0\n')).toBe(426);
    expect(parseStatm('')).toBeUndefined();
    expect(
      parseStatusVmRss('Name:\tcat\nVmPeak:\t  3000 kB\nVmRSS:\t    2076 kB\nVmData:\t 1 kB\n'),
    ).toBe(2076);
    expect(parseStatusVmRss('Name:\tkthreadd\n')).toBeUndefined();
  });
});

describe('selectTree', () => {
  const all = [
    stat({ pid: 100, pgid: 100, ppid: 1 }),
    stat({ pid: 101, pgid: 100, ppid: 100 }),
    stat({ pid: 102, pgid: 102, ppid: 101 }), // called setsid: left the group, still a descendant
    stat({ pid: 103, pgid: 103, ppid: 102 }),
    stat({ pid: 104, pgid: 100, ppid: 1 }), // reparented to init, still in the group
    stat({ pid: 105, pgid: 100, ppid: 100, state: 'Z' }), // zombie: gone
    stat({ pid: 200, pgid: 200, ppid: 1 }), // someone else
  ];
  it('takes the group, every descendant of the root, and no zombies', () => {
    const pids = selectTree(all, 100, 100).map((s) => s.pid);
    expect(pids.sort()).toEqual([100, 101, 102, 103, 104]);
  });
  it('is empty when nothing is left', () => {
    expect(selectTree([stat({ pid: 200, pgid: 200 })], 100, 100)).toEqual([]);
  });
});

describe('sumUsage', () => {
  it('sums RSS pages and every CPU tick (own and reaped children)', () => {
    const a = stat({ utime: 100, stime: 50, cutime: 30, cstime: 20 });
    const b = stat({ utime: 100 });
    const u = sumUsage(
      [
        { stat: a, rssPages: 25_600 },
        { stat: b, rssPages: 256 },
      ],
      4096,
      100,
    );
    expect(u).toEqual({ rssMb: 101, cpuSeconds: 3 });
  });
});

describe('signalTargets', () => {
  const self = { pid: 500, pgid: 400 };
  it('signals the group and the members that left it, never the agent', () => {
    const members = [
      { pid: 100, pgid: 100 },
      { pid: 101, pgid: 100 },
      { pid: 102, pgid: 102 }, // called setsid
      { pid: 500, pgid: 400 }, // the agent itself, were it ever picked
    ];
    expect(signalTargets(100, members, self)).toEqual([-100, 102]);
  });
  it.each([0, 1, -5, Number.NaN, 400])(
    'refuses group %s (everything, init or the agent)',
    (pgid) => {
      expect(() => signalTargets(pgid, [], self)).toThrow(/refusing to signal process group/);
    },
  );
});
