import { setTimeout as sleep } from 'node:timers/promises';
import { spawnDrover, type DroverProcess } from './drover-process.js';
import { jsonLines, logged, until } from './service-output.js';

/**
 * `drover scheduler` processes racing for the lease, each with its /metrics served, for tests and
 * benches of leadership under load (issue 23): which epochs each came to lead at, and the longest
 * event-loop stalls its process reported.
 */
export interface Contender {
  readonly id: string;
  readonly proc: DroverProcess;
  /** Epochs this process came to lead at (its `--json` documents), in order. */
  epochs(): number[];
  /** Its /metrics URL, once served (before it leads: a standby is scraped too). */
  metricsUrl(): Promise<string>;
}

export interface ContenderEnv {
  readonly natsUrl: string;
  readonly dataDir: string;
  readonly leaseTtlMs: number;
}

export function spawnContender(id: string, env: ContenderEnv): Contender {
  const proc = spawnDrover(['scheduler', '--no-api', '--json', '--metrics-port', '0'], {
    DROVER_NATS_URL: env.natsUrl,
    DROVER_DATA_DIR: env.dataDir,
    DROVER_LEASE_TTL_MS: String(env.leaseTtlMs),
    DROVER_SCHEDULER_ID: id,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  });
  return {
    id,
    proc,
    epochs: () =>
      jsonLines(proc)
        .filter((l) => 'epoch' in l && !('msg' in l))
        .map((l) => l.epoch as number),
    metricsUrl: () =>
      until(
        `${id}'s metrics`,
        () => logged(proc, 'metrics serving')[0]?.url as string | undefined,
        60_000,
        () => proc.output(),
      ),
  };
}

/** Every epoch any of `contenders` came to lead at, ascending. */
export function allEpochs(contenders: readonly Contender[]): number[] {
  return contenders.flatMap((c) => c.epochs()).sort((a, b) => a - b);
}

/** The contender that leads at the highest epoch so far, once one leads above `above`. */
export function leader(contenders: readonly Contender[], above = 0): Promise<Contender> {
  return until(
    `a leader above epoch ${above}`,
    () => {
      let best: { c: Contender; epoch: number } | undefined;
      for (const c of contenders)
        for (const epoch of c.epochs())
          if (epoch > above && (!best || epoch > best.epoch)) best = { c, epoch };
      return best?.c;
    },
    600_000,
    () => contenders.map((c) => `${c.id}:\n${c.proc.output().slice(-2000)}`).join('\n'),
  );
}

/** One value of a metric (without labels) from a Prometheus text page; undefined when absent. */
export function metricValue(page: string, name: string): number | undefined {
  const m = new RegExp(`^${name} ([^\\s]+)`, 'm').exec(page);
  return m ? Number(m[1]) : undefined;
}

const LAG_MAX = 'nodejs_eventloop_lag_max_seconds';

/**
 * The longest event-loop stalls of one process, scraped from its /metrics every `everyMs`:
 * `nodejs_eventloop_lag_max_seconds` is the longest delay of prom-client's 10 ms
 * `monitorEventLoopDelay` timer since the previous scrape (it resets at each). Each scrape is
 * kept with its time, so a caller can take the longest stall of any window.
 */
export class StallProbe {
  private readonly samples: { at: number; ms: number }[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly url: string,
    everyMs = 200,
  ) {
    this.loop = (async () => {
      while (!this.stopped) {
        const page = await fetch(this.url)
          .then((r) => r.text())
          .catch(() => undefined);
        const max = page === undefined ? undefined : metricValue(page, LAG_MAX);
        if (max !== undefined && Number.isFinite(max))
          this.samples.push({ at: Date.now(), ms: max * 1000 });
        await sleep(everyMs);
      }
    })();
  }

  /** The longest stall reported by scrapes from `from` to `to` (epoch ms). */
  longest(from = 0, to = Infinity): number {
    let out = 0;
    for (const s of this.samples) if (s.at >= from && s.at <= to) out = Math.max(out, s.ms);
    return Math.round(out);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** One scrape of a metric, or undefined when the page or the metric is missing. */
export async function scrape(url: string, name: string): Promise<number | undefined> {
  const page = await fetch(url)
    .then((r) => r.text())
    .catch(() => undefined);
  return page === undefined ? undefined : metricValue(page, name);
}
