/**
 * Publishes in flight with their acks counted, for a sender that outruns the server: `settle(n)`
 * waits until at most `n` await their ack, or one failed (its error is kept in `failure`, the
 * first only). Used by the benchmarks' raw seeding (the compactor's copy asks for sparse acks).
 */
export class AckWindow {
  failure: Error | undefined;
  private unacked = 0;
  private drained: (() => void) | undefined;

  /** How many publishes await their ack. */
  get size(): number {
    return this.unacked;
  }

  /** Count `ack` in until it settles; a rejection is the window's failure. */
  track(ack: Promise<unknown>): void {
    this.unacked++;
    ack.then(
      () => this.acked(),
      (err: unknown) => this.acked(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Resolves once at most `n` publishes await their ack, or one failed. */
  settle(n: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.drained = () => {
        if (this.unacked > n && !this.failure) return;
        this.drained = undefined;
        resolve();
      };
      this.drained();
    });
  }

  private acked(err?: Error): void {
    if (err) this.failure ??= err;
    this.unacked--;
    this.drained?.();
  }
}
