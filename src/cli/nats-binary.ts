import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A nats-server executable and the version it reports. */
export interface NatsBinary {
  readonly path: string;
  /** `2.15.3`, or undefined when `--version` did not answer. */
  readonly version: string | undefined;
}

/** The oldest server with `sync_interval` (2.9 acknowledges writes its timer has not synced). */
const SYNC_INTERVAL_SINCE: readonly [number, number] = [2, 10];

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The pinned nats-server release (package.json `natsServer`), built by scripts/install-nats-server.sh. */
export function pinnedNatsVersion(root = packageRoot): string {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { natsServer: string };
  return pkg.natsServer;
}

/** Where scripts/install-nats-server.sh puts the pinned release. */
export function pinnedNatsPath(root = packageRoot): string {
  return `${root}.tools/nats-server/${pinnedNatsVersion(root)}/nats-server`;
}

/**
 * The nats-server to start: `DROVER_NATS_SERVER` when set, else the pinned release when it was
 * built, else `nats-server` on PATH. Undefined when none answers `--version`.
 */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): NatsBinary | undefined {
  const candidates = env.DROVER_NATS_SERVER
    ? [env.DROVER_NATS_SERVER]
    : [pinnedNatsPath(), 'nats-server'].filter((p) => p === 'nats-server' || existsSync(p));
  for (const path of candidates) {
    const probe = spawnSync(path, ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) continue;
    return { path, version: parseNatsVersion(probe.stdout) };
  }
  return undefined;
}

/** `nats-server: v2.9.10` → `2.9.10`. */
export function parseNatsVersion(text: string): string | undefined {
  return /v?(\d+\.\d+\.\d+)/.exec(text)?.[1];
}

/**
 * True when the server knows `jetstream { sync_interval }` (2.10 and later); an unknown version
 * counts as current, since only the old Debian build is known to lack it.
 */
export function hasSyncInterval(version: string | undefined): boolean {
  if (!version) return true;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [wantMajor, wantMinor] = SYNC_INTERVAL_SINCE;
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** One line for an operator when the server is older than the one Drover's guarantees assume. */
export function natsVersionWarning(version: string | undefined): string | undefined {
  if (hasSyncInterval(version)) return undefined;
  return `nats-server ${version} is older than 2.10: it acknowledges writes before they are on disk (no sync_interval); use it to try Drover, not to run a farm`;
}

/**
 * The config text for this server: nats.conf as written for current servers, with the lines
 * that name `sync_interval` dropped for an older one (2.9 refuses unknown fields).
 */
export function configFor(configText: string, version: string | undefined): string {
  if (hasSyncInterval(version)) return configText;
  return configText
    .split('\n')
    .filter((line) => !/^\s*sync_interval\s*:/.test(line))
    .join('\n');
}
