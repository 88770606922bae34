import { mkdir, readFile, rmdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** statfs magic of a cgroup v2 mount (linux/magic.h). */
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Pure: the cgroup v2 path of a process from `/proc/self/cgroup` (the `0::` line), if any. */
export function unifiedCgroupPath(procCgroup: string): string | undefined {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line === undefined ? undefined : line.slice(3).trim();
}

/**
 * Whether this agent could enforce memory limits with cgroup v2: `/sys/fs/cgroup` must be a
 * cgroup2 mount (not the v1/hybrid tmpfs), its own cgroup must offer the memory controller
 * and a child cgroup must be creatable. When `writable` is false the supervisor enforces the
 * limit itself by sampling /proc (the only enforcement implemented today); `reason` says why.
 */
export async function cgroupSupport(
  root = '/sys/fs/cgroup',
): Promise<{ writable: boolean; reason: string }> {
  const fs = await statfs(root).catch(() => undefined);
  if (fs === undefined) return { writable: false, reason: `${root} does not exist` };
  if (fs.type !== CGROUP2_SUPER_MAGIC) {
    return {
      writable: false,
      reason: `${root} is not a cgroup2 mount (fs type 0x${fs.type.toString(16)}: cgroup v1 or hybrid)`,
    };
  }
  const own = unifiedCgroupPath(await readFile('/proc/self/cgroup', 'utf8'));
  if (own === undefined)
    return { writable: false, reason: 'no cgroup v2 entry in /proc/self/cgroup' };
  const dir = join(root, own);
  const controllers = await readFile(join(dir, 'cgroup.controllers'), 'utf8').catch(() => '');
  if (!controllers.split(/\s+/).includes('memory')) {
    return { writable: false, reason: `memory controller not enabled in ${dir}` };
  }
  const probe = join(dir, `drover-probe-${process.pid}`);
  try {
    await mkdir(probe);
  } catch (err) {
    return { writable: false, reason: `cannot create a cgroup under ${dir}: ${String(err)}` };
  }
  const limitable = await stat(join(probe, 'memory.max')).then(
    () => true,
    () => false,
  );
  await rmdir(probe);
  if (!limitable) return { writable: false, reason: `memory not in ${dir}/cgroup.subtree_control` };
  return { writable: true, reason: `cgroup v2 with memory controller at ${dir}` };
}
