import type { IHeaders, Message } from 'kafkajs';
import type { TopicMessages } from './producer.ts';

// The messages of one send, written back to back into one buffer with a numeric index beside it, so that a batch
// crosses to the producer thread by transfer (no copy, no structured clone of thousands of objects) and the
// capture's hot path allocates no Message object and no Buffer per message.

/** Index slots per message: topic, key start, key end, value start, value end (-1: null), timestamp (NaN: none). */
const SLOTS = 6;
const INITIAL_BYTES = 1024 * 1024;
const INITIAL_MESSAGES = 4096;

/** A batch as it travels to the producer thread: `data` and `index` are transferred, not copied. */
export interface EncodedBatch {
  data: ArrayBuffer;
  index: ArrayBuffer;
  count: number;
  topics: string[];
  /** Headers of the few messages that have any (tombstones, updates with unchanged columns), by message number; structured-cloned. */
  headers: Array<[number, IHeaders]>;
}

/** Buffers a sent batch gives back to be written again. */
export interface BatchBuffers {
  data: ArrayBuffer;
  index: ArrayBuffer;
}

export class MessageBatch {
  /**
   * Where bytes are written; the first `used` hold the batch. An encoder may write at `used` itself (growing the
   * buffer with `reserve`), move `used` past what it wrote, and add the message's ranges with `addRanges`.
   */
  data: Buffer;
  used = 0;
  private index: Float64Array;
  private count = 0;
  private readonly topics: string[] = [];
  private readonly topicIds = new Map<string, number>();
  private readonly headers: Array<[number, IHeaders]> = [];

  constructor(reuse?: BatchBuffers) {
    this.data = reuse ? Buffer.from(reuse.data) : Buffer.allocUnsafeSlow(INITIAL_BYTES);
    this.index = reuse ? new Float64Array(reuse.index) : new Float64Array(INITIAL_MESSAGES * SLOTS);
  }

  get messages(): number {
    return this.count;
  }

  /** Payload bytes, plus the per-record overhead Kafka adds, for sizing sends. */
  get bytes(): number {
    return this.used + this.count * 64;
  }

  /** Makes room for at least `bytes` more after `used`, keeping what is written. */
  reserve(bytes: number): void {
    if (this.used + bytes <= this.data.length) return;
    // Its own ArrayBuffer (never a slice of the shared pool), so that it can be transferred.
    const grown = Buffer.allocUnsafeSlow(Math.max(this.data.length * 2, this.used + bytes));
    this.data.copy(grown, 0, 0, this.used);
    this.data = grown;
  }

  /** Appends `part` (UTF-8 for a string) and returns its end, or -1 for null. */
  write(part: Buffer | string | null | undefined): number {
    if (part == null) return -1;
    if (typeof part === 'string') {
      this.reserve(Buffer.byteLength(part));
      this.used += this.data.write(part, this.used, 'utf8');
    } else {
      this.reserve(part.length);
      this.used += part.copy(this.data, this.used);
    }
    return this.used;
  }

  /**
   * Adds a message whose key and value are the byte ranges given (end -1: null), already written into `data`,
   * with `headers` when it has any (most messages have none, and pass nothing).
   */
  addRanges(topic: string, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number, timestamp: number, headers?: IHeaders): void {
    let topicId = this.topicIds.get(topic);
    if (topicId === undefined) {
      topicId = this.topics.push(topic) - 1;
      this.topicIds.set(topic, topicId);
    }
    if ((this.count + 1) * SLOTS > this.index.length) {
      const grown = new Float64Array(this.index.length * 2);
      grown.set(this.index);
      this.index = grown;
    }
    const at = this.count * SLOTS;
    const index = this.index;
    index[at] = topicId;
    index[at + 1] = keyStart;
    index[at + 2] = keyEnd;
    index[at + 3] = valueStart;
    index[at + 4] = valueEnd;
    index[at + 5] = timestamp;
    if (headers !== undefined) this.headers.push([this.count, headers]);
    this.count++;
  }

  /** Adds a message given as kafkajs would take it (strings as UTF-8); the timestamp is the producer's when absent. */
  add(topic: string, message: Message): void {
    const keyStart = this.used;
    const keyEnd = this.write(message.key);
    const valueStart = this.used;
    const valueEnd = this.write(message.value);
    this.addRanges(topic, keyStart, keyEnd, valueStart, valueEnd, message.timestamp === undefined ? Number.NaN : Number(message.timestamp), message.headers);
  }

  /** The batch for transfer; this object must not be used afterwards. */
  encoded(): EncodedBatch {
    return { data: this.data.buffer as ArrayBuffer, index: this.index.buffer as ArrayBuffer, count: this.count, topics: this.topics, headers: this.headers };
  }
}

/**
 * The batch as kafkajs takes it, in the order it was written: topics in order of first appearance, messages in
 * order within each. Keys and values are views into `data`, which must outlive the send.
 */
export function topicMessages(batch: EncodedBatch): TopicMessages[] {
  const data = Buffer.from(batch.data);
  const index = new Float64Array(batch.index);
  const byTopic: Message[][] = batch.topics.map(() => []);
  const headers = new Map(batch.headers.map(([i, h]) => [i, asBuffers(h)]));
  for (let i = 0, at = 0; i < batch.count; i++, at += SLOTS) {
    const keyEnd = index[at + 2] as number;
    const valueEnd = index[at + 4] as number;
    const timestamp = index[at + 5] as number;
    const message: Message = {
      key: keyEnd < 0 ? null : data.subarray(index[at + 1], keyEnd),
      value: valueEnd < 0 ? null : data.subarray(index[at + 3], valueEnd),
    };
    if (!Number.isNaN(timestamp)) message.timestamp = String(timestamp);
    const messageHeaders = headers.get(i);
    if (messageHeaders) message.headers = messageHeaders;
    (byTopic[index[at] as number] as Message[]).push(message);
  }
  return batch.topics.map((topic, i) => ({ topic, messages: byTopic[i] as Message[] }));
}

/** Buffers arrive from another thread as plain Uint8Arrays, which kafkajs would write as text: made Buffers again. */
function asBuffers(headers: IHeaders): IHeaders {
  const buffer = (v: Buffer | string) => (typeof v === 'string' || Buffer.isBuffer(v) ? v : Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).byteLength));
  const out: IHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.map(buffer) : buffer(value);
  }
  return out;
}
