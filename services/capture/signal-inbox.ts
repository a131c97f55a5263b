import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '#core/log.ts';
import { readToEnd } from '#kafka/compacted.ts';
import { parseSnapshotSignal, signalTopic, type SnapshotSignal } from '#kafka/signals.ts';

/**
 * The signals sent to one capture (services/kafka/signals.ts), polled from the signal topic. A signal counts as
 * taken once the offset after it is committed with the source's offset (in the same Kafka transaction as what the
 * source did with it), so a crash in between hands the signal over again and none is lost or done twice.
 */
export class SignalInbox {
  private readonly topic: string;
  private readonly pending: SnapshotSignal[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  /** One admin client for the inbox's life: a poll every few seconds must not open a connection each time. */
  private admin: Admin | null = null;
  private stopped = false;
  /** The signal topic's offset after the signals read so far; null until the first poll decides where to start. */
  private next: bigint | null;

  constructor(
    private readonly kafka: Kafka,
    topicPrefix: string,
    private readonly source: string,
    /** Stored with the last offset; null on a first run, which takes only signals sent from now on. */
    stored: string | null,
    private readonly log: Logger,
    private readonly intervalMs = 2_000,
  ) {
    this.topic = signalTopic(topicPrefix);
    this.next = stored === null ? null : BigInt(stored);
  }

  start(): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    void this.admin?.disconnect().catch(() => undefined);
    this.admin = null;
  }

  /** Signals read and not yet taken, with the offset to store once what they asked for is committed. */
  take(): { signals: SnapshotSignal[]; next: string } | null {
    if (this.pending.length === 0 || this.next === null) return null;
    return { signals: this.pending.splice(0), next: this.next.toString() };
  }

  /** The offset to store when no signal is pending (what was read is taken); null before the first poll. */
  position(): string | null {
    return this.pending.length === 0 && this.next !== null ? this.next.toString() : null;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (!this.admin) {
        const admin = this.kafka.admin();
        await admin.connect();
        // Stopped while connecting: the client is not kept.
        if (this.stopped) {
          await admin.disconnect();
          return;
        }
        this.admin = admin;
      }
      const admin = this.admin;
      const ends = (await admin.listTopics()).includes(this.topic) ? await admin.fetchTopicOffsets(this.topic) : null;
      const high = ends ? BigInt(ends[0]?.high ?? '0') : 0n;
      if (this.next === null) {
        this.next = high;
        return;
      }
      if (high <= this.next) return;
      const from = this.next;
      const found: SnapshotSignal[] = [];
      await readToEnd(this.kafka, this.topic, (message) => {
        const offset = BigInt(message.offset);
        if (offset < from || offset >= high || message.key?.toString('utf8') !== this.source) return;
        const signal = parseSnapshotSignal(message.value);
        if (signal) found.push(signal);
        else this.log.warn({ topic: this.topic, offset: message.offset }, 'ignoring a signal that is not an execute-snapshot signal in JSON');
      });
      this.pending.push(...found);
      this.next = high;
    } catch (error) {
      // The next poll tries again, with a new client; the capture itself does not depend on signals.
      void this.admin?.disconnect().catch(() => undefined);
      this.admin = null;
      this.log.debug({ err: (error as Error).message }, 'reading the signal topic failed');
    } finally {
      this.polling = false;
    }
  }
}
