/** Events per second over a sliding window, from counts reported as they happen (a commit's events, a batch). */
export class RateWindow {
  private readonly samples: { at: number; count: number }[] = [];

  constructor(private readonly windowMs: number) {}

  add(at: number, count: number): void {
    this.samples.push({ at, count });
    this.trim(at);
  }

  /** The rate over the window ending now; 0 when nothing happened in it. */
  perSecond(now: number): number {
    this.trim(now);
    if (this.samples.length === 0) return 0;
    const total = this.samples.reduce((sum, sample) => sum + sample.count, 0);
    // Over the whole window once it has filled; over the time since the first sample before, so a process that
    // started a second ago does not report a sixtieth of its rate.
    const span = Math.max(1_000, Math.min(this.windowMs, now - (this.samples[0] as { at: number }).at));
    return Math.round((total * 1000) / span);
  }

  private trim(now: number): void {
    while (this.samples.length > 0 && (this.samples[0] as { at: number }).at <= now - this.windowMs) this.samples.shift();
  }
}
