/**
 * Turns a push source (zongji, the replication stream) into a pull stream with bounded memory. The producer
 * pushes items with their size in bytes; past `maxBytes` the queue calls `pause()` so the source stops reading
 * its socket, and once the consumer has drained it below half it calls `resume()`. Pushing never blocks and
 * never drops: a push source cannot wait, so the bound holds to within what is in flight when it pauses.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  private readonly items: Array<{ item: T; bytes: number }> = [];
  private head = 0;
  private bytes = 0;
  private paused = false;
  private ended = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly flow: { pause: () => void; resume: () => void },
  ) {}

  get bufferedBytes(): number {
    return this.bytes;
  }

  push(item: T, bytes: number): void {
    if (this.ended) return;
    this.items.push({ item, bytes });
    this.bytes += bytes;
    if (!this.paused && this.bytes >= this.maxBytes) {
      this.paused = true;
      this.flow.pause();
    }
    this.signal();
  }

  /** No more items: the consumer sees the end after draining what is queued. */
  end(): void {
    this.ended = true;
    this.signal();
  }

  /** The source failed: the consumer gets the error after draining what is queued. */
  fail(error: unknown): void {
    if (!this.failure) this.failure = { error };
    this.ended = true;
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.head < this.items.length) {
        const item = this.shift();
        this.settle();
        return { value: item, done: false };
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /**
   * Everything queued, up to `max` items, waiting only when nothing is: a consumer that keeps up awaits once per
   * run of items instead of once per item, which for a replication stream is once per row.
   */
  async nextBatch(max: number): Promise<IteratorResult<T[]>> {
    for (;;) {
      if (this.head < this.items.length) {
        const taken = new Array<T>(Math.min(max, this.items.length - this.head));
        for (let i = 0; i < taken.length; i++) taken[i] = this.shift();
        this.settle();
        return { value: taken, done: false };
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Removes the first queued item (there is one). */
  private shift(): T {
    const { item, bytes } = this.items[this.head] as { item: T; bytes: number };
    this.items[this.head] = undefined as never;
    this.head++;
    this.bytes -= bytes;
    return item;
  }

  /** After items are taken: compacts now and then, and resumes the source once below half. */
  private settle(): void {
    // Compact now and then instead of shift(), which is O(n) per item on large queues.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    if (this.paused && this.bytes <= this.maxBytes / 2) {
      this.paused = false;
      this.flow.resume();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next() };
  }
}
