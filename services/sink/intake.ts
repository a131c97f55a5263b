import type { Kafka } from 'kafkajs';
import { TributaryError, withAction } from '#core/errors.ts';
import type { Logger } from '#core/log.ts';
import { retry } from '#core/retry.ts';
import type { ConsumedMessage, PartitionBatch } from '#kafka/consumer.ts';
import { DeadLetters } from '#kafka/dead-letters.ts';
import type { AvroSerde } from '#kafka/serde.ts';
import { ChangeDecoder, type DecodedChange, type DecoderOptions } from './decoder.ts';
import type { SinkStatus } from './status.ts';

export interface IntakeSettings {
  onError: 'dlq' | 'halt';
  deadLetterTopic: string;
  replicationFactor: number;
}

/**
 * The way in of every sink runner: decodes fetched messages and sets aside the ones that cannot be decoded or
 * written (to the dead-letter topic, or the sink halts with `onError: halt`).
 */
export class MessageIntake {
  private readonly decoder: ChangeDecoder;
  private readonly deadLetters: DeadLetters;
  /** Messages set aside in a row: past a hundred, the target itself is at fault, not the messages. */
  private poisonedInARow = 0;
  /** Topics whose table the target cannot take safely: nothing more of them is written or committed this run. */
  private readonly paused = new Set<string>();

  constructor(
    kafka: Kafka,
    serde: AvroSerde,
    private readonly settings: IntakeSettings,
    private readonly log: Logger,
    private readonly status: SinkStatus | undefined,
    private readonly onFailure: (error: TributaryError, retrying: boolean) => void,
    decoderOptions: DecoderOptions = {},
  ) {
    this.decoder = new ChangeDecoder(serde, decoderOptions);
    this.deadLetters = new DeadLetters(kafka, settings.deadLetterTopic, settings.replicationFactor);
  }

  /** Decodes `chunk`; a message that cannot be decoded is set aside and left out. */
  async decodeChunk(batch: PartitionBatch, chunk: readonly ConsumedMessage[], signal: AbortSignal): Promise<DecodedChange[]> {
    const pending: DecodedChange[] = [];
    for (const message of chunk) {
      let decoded: DecodedChange | null;
      try {
        const result = this.decoder.decode(batch.topic, message);
        decoded =
          result instanceof Promise
            ? await retry(`decoding ${batch.topic}/${batch.partition}@${message.offset}`, async (attempt) => (attempt === 1 ? result : this.decoder.decode(batch.topic, message)), {
                signal,
                log: this.log,
                maxDelayMs: 5_000,
              })
            : result;
      } catch (error) {
        const failure = error instanceof TributaryError ? error : withAction(`decoding ${batch.topic}/${batch.partition}@${message.offset}`, error);
        if (!isPoison(failure)) throw failure;
        await this.poison(batch, message, failure);
        continue;
      }
      if (decoded) pending.push(decoded);
    }
    return pending;
  }

  /** The target took a write: the messages set aside before it were the messages' fault. */
  written(): void {
    this.poisonedInARow = 0;
  }

  /** A message that cannot be decoded or written: to the dead-letter topic, or the sink halts (`onError: halt`). */
  async poison(batch: PartitionBatch, message: ConsumedMessage, failure: TributaryError): Promise<void> {
    const where = `${batch.topic}/${batch.partition}@${message.offset}`;
    if (++this.poisonedInARow > 100) {
      throw new TributaryError(failure.code, `halting at ${where}: more than 100 messages in a row were refused, so the target is at fault rather than the messages: ${failure.message}`, { cause: failure });
    }
    if (this.settings.onError === 'halt') {
      throw new TributaryError(failure.code, `halting at ${where} (onError: halt): ${failure.message}`, { cause: failure });
    }
    await retry(`writing the dead letter for ${where}`, () => this.deadLetters.send(batch, message, failure), { log: this.log, maxDelayMs: 5_000, onFailure: this.onFailure });
    this.status?.deadLettered(batch.topic);
    this.log.warn({ at: where, code: failure.code, err: failure.message, deadLetterTopic: this.deadLetters.topic }, 'message sent to the dead-letter topic');
  }

  isPaused(topic: string): boolean {
    return this.paused.has(topic);
  }

  /**
   * A table the target cannot take safely (SINK_SCHEMA_INCOMPATIBLE): its topic is paused, so nothing of it is
   * written or committed past the last commit while the other topics go on. Returns whether `error` was that.
   */
  pauseIfIncompatible(batch: PartitionBatch, error: unknown, fix: string): boolean {
    // retry() rethrows with the action prepended and the code and retriability kept.
    if (!(error instanceof TributaryError) || error.code !== 'SINK_SCHEMA_INCOMPATIBLE') return false;
    this.log.error({ topic: batch.topic, err: error.message }, `table paused: ${fix}`);
    this.paused.add(batch.topic);
    this.status?.pausedTopic(batch.topic);
    batch.pauseTopic();
    return true;
  }

  async close(): Promise<void> {
    await this.deadLetters.close();
  }
}

/**
 * What one message can cause and set aside: it cannot be decoded, or the target refuses its values. Outages are
 * retried instead, and anything else (a bug, a refused schema) stops the sink rather than emptying the topic into
 * the dead letters.
 */
export function isPoison(error: unknown): error is TributaryError {
  return error instanceof TributaryError && !error.retriable && ['DECODE_FAILED', 'TARGET_REJECTED', 'VALUE_INVALID', 'SCHEMA_UNSUPPORTED'].includes(error.code);
}
