import { describe, expect, it } from 'vitest';
import { cgroupSupport } from '../../../src/node-agent/supervisor/index.js';
import { unifiedCgroupPath } from '../../../src/node-agent/supervisor/cgroup.js';

describe('cgroupSupport', () => {
  it('reports not writable on this cgroup v1/hybrid machine, with the reason', async () => {
    const support = await cgroupSupport();
    expect(support.writable).toBe(false);
    expect(support.reason).toMatch(/not a cgroup2 mount .*cgroup v1 or hybrid/);
  });

  it('reports a missing hierarchy', async () => {
    expect(await cgroupSupport('/no/such/cgroup')).toEqual({
      writable: false,
      reason: '/no/such/cgroup does not exist',
    });
  });

  it('finds the unified entry of /proc/self/cgroup', () => {
    expect(unifiedCgroupPath('4:memory:/a\n0::/user.slice/x\n')).toBe('/user.slice/x');
    expect(unifiedCgroupPath('4:memory:/a\n')).toBeUndefined();
  });
});
