import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { HEARTBEAT_WILDCARD, type Heartbeat } from '../events/index.js';
import type { FarmIndex } from './farm-index.js';
import type { Action, RuleContext } from './rules.js';
import { watchNodes, type Heard } from './watchdog.js';

/** A node whose heartbeats stop for this long is lost, by default. */
export const NODE_LOST_MS = 10_000;

/**
 * The node watch: listens to the agents' heartbeats (core NATS, not the log: they are frequent
 * and only their absence matters) and, on each `check`, asks the watchdog policy what silence
 * means: a silent node is lost (its attempts are retried elsewhere), a worker its node no longer
 * reports is hung, a drained node is done. Its own state is what was heard, when, by node.
 */
export class NodeWatch {
  private readonly heard: Heard;
  private readonly at = new Map<string, number>();
  private readonly incarnations = new Map<string, string>();
  private readonly draining = new Map<string, boolean>();
  private readonly workers = new Map<string, ReadonlySet<string>>();
  private sub: Subscription | undefined;

  constructor(
    private readonly clock: () => number,
    private readonly lostAfterMs: number = NODE_LOST_MS,
  ) {
    this.heard = {
      at: this.at,
      incarnations: this.incarnations,
      draining: this.draining,
      workers: this.workers,
      firstSeen: new Map(),
      missingSince: new Map(),
      since: clock(),
    };
  }

  /** Start listening on `nc` (every node's heartbeat subject). */
  listen(nc: NatsConnection): void {
    this.sub = nc.subscribe(HEARTBEAT_WILDCARD, {
      callback: (_err, m) => {
        try {
          this.hear(JSON.parse(m.string()) as Heartbeat);
        } catch {
          // a malformed heartbeat is no sign of life
        }
      },
    });
  }

  /** One heartbeat heard now: the node lives and runs these workers. */
  hear(hb: Heartbeat): void {
    this.at.set(hb.node, this.clock());
    this.incarnations.set(hb.node, hb.incarnation ?? '');
    this.draining.set(hb.node, hb.draining === true);
    this.workers.set(hb.node, new Set(hb.workers));
  }

  /** What the silence so far calls for (see `watchNodes`). */
  check(ctx: RuleContext, index: FarmIndex): Action[] {
    return watchNodes(ctx, index, this.heard, this.lostAfterMs);
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
