import { stateName, type SessionSnapshot } from '../actors/index.js';

/**
 * A session as `drover sessions`, `session.get` and the dashboard show it: who, what, where,
 * since when, and how it ended. `openedAt`/`placedAt`/`endedAt` are ISO times.
 */
export interface SessionRow {
  id: string;
  kind: 'run' | 'alloc';
  user: string;
  state: string;
  command: string[];
  tty: boolean;
  /** The nodes it runs or holds on, as placed so far. */
  nodes: string[];
  /** How many nodes it asked for (an allocation's `--nodes`; 1 for a run). */
  nodeCount: number;
  cpus: number;
  memMb: number;
  openedAt: string;
  placedAt?: string;
  endedAt?: string;
  jobId?: string;
  alloc?: string;
  /** For an allocation: when it is released at the latest (its time counts from its first node). */
  until?: string;
  exitCode?: number | null;
  signal?: string | null;
  stopReason?: string;
}

const iso = (at: number) => new Date(at).toISOString();

/** A session's row, or undefined for a session that was never opened. Pure. */
export function sessionRow(id: string, s: SessionSnapshot): SessionRow | undefined {
  const { opened, openedAt, placements, exit, stopReason } = s.context;
  if (!opened) return undefined;
  const first = placements[0];
  return {
    id,
    kind: opened.kind,
    user: opened.user,
    state: stateName(s),
    command: opened.command,
    tty: opened.tty,
    nodes: placements.map((p) => p.node),
    nodeCount: opened.nodes,
    cpus: opened.cpus,
    memMb: opened.memMb,
    openedAt: iso(openedAt),
    ...(first && { placedAt: iso(first.at) }),
    ...(exit && { endedAt: iso(exit.at), exitCode: exit.exitCode, signal: exit.signal }),
    ...(opened.jobId !== undefined && { jobId: opened.jobId }),
    ...(opened.alloc !== undefined && { alloc: opened.alloc }),
    ...(opened.timeS !== undefined && {
      until: iso((first?.at ?? openedAt) + opened.timeS * 1000),
    }),
    ...(stopReason !== undefined && { stopReason }),
  };
}

/** Sessions not yet exited (or all of them), newest first. Pure. */
export function sessionRows(
  sessions: ReadonlyMap<string, SessionSnapshot>,
  all = false,
): SessionRow[] {
  const rows: SessionRow[] = [];
  for (const [id, s] of sessions) {
    const row = sessionRow(id, s);
    if (row && (all || row.state !== 'exited')) rows.push(row);
  }
  return rows.sort((a, b) => (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : 0));
}
