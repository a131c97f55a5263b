import { describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { MessageBatch } from '#kafka/message-batch.ts';
import { TransactionWriter, type BatchProducer } from './transaction-writer.ts';

/** A producer whose requests are answered by the test, in order, as the producer thread answers them. */
class FakeProducer implements BatchProducer {
  readonly log: string[] = [];
  private readonly pending: Array<{ what: string; resolve: () => void; reject: (error: Error) => void }> = [];

  batch(): MessageBatch {
    return new MessageBatch();
  }
  send(batch: MessageBatch): Promise<void> {
    return this.request(`send ${batch.messages}`);
  }
  commit(): Promise<void> {
    return this.request('commit');
  }
  async abort(): Promise<void> {
    this.log.push('abort');
  }
  /** Answers the oldest request. */
  answer(error?: Error): string {
    const request = this.pending.shift();
    if (!request) throw new Error('nothing to answer');
    if (error) request.reject(error);
    else request.resolve();
    return request.what;
  }
  get outstanding(): number {
    return this.pending.length;
  }
  private request(what: string): Promise<void> {
    this.log.push(what);
    return new Promise((resolve, reject) => this.pending.push({ what, resolve, reject }));
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('TransactionWriter', () => {
  it('keeps at most `inFlight` requests outstanding, and commits after the sends of its transaction', async () => {
    const producer = new FakeProducer();
    const writer = new TransactionWriter(producer, { messages: 2, bytes: 1 << 20, inFlight: 2 });
    writer.batch.add('t', { key: 'a', value: '1' });
    writer.batch.add('t', { key: 'b', value: '2' });
    expect(writer.full).toBe(true);
    await writer.flush();
    writer.batch.add('t', { key: 'c', value: '3' });
    await writer.flush();
    expect(producer.outstanding).toBe(2);
    writer.batch.add('t', { key: 'd', value: '4' });
    let committed = false;
    const commit = writer.commit().then(() => (committed = true));
    await tick();
    expect(producer.log).toEqual(['send 2', 'send 1']); // waits for room before sending the third
    expect(producer.answer()).toBe('send 2');
    await tick();
    expect(producer.log).toEqual(['send 2', 'send 1', 'send 1']);
    expect(producer.answer()).toBe('send 1');
    await commit;
    expect(committed).toBe(true);
    expect(producer.log).toEqual(['send 2', 'send 1', 'send 1', 'commit']);
    producer.answer();
    producer.answer();
    await writer.drain();
    await writer.commit(); // nothing sent since: no commit
    expect(producer.log).toHaveLength(4);
  });

  it('throws a failed send where it is next awaited and through `failed`, and never loses it', async () => {
    const producer = new FakeProducer();
    const writer = new TransactionWriter(producer, { messages: 1, bytes: 1 << 20, inFlight: 2 });
    let heard: unknown = null;
    writer.failed.catch((error: unknown) => (heard = error));
    writer.batch.add('t', { key: 'a', value: '1' });
    await writer.flush();
    const failure = new TributaryError('KAFKA_UNAVAILABLE', 'the broker went away', { retriable: true });
    producer.answer(failure);
    await tick();
    expect(heard).toBe(failure);
    await expect(writer.drain()).rejects.toBe(failure);
  });

  it('aborts once what was posted has ended, dropping what was pending', async () => {
    const producer = new FakeProducer();
    const writer = new TransactionWriter(producer, { messages: 1, bytes: 1 << 20, inFlight: 3 });
    writer.batch.add('t', { key: 'a', value: '1' });
    await writer.flush();
    writer.batch.add('t', { key: 'b', value: '2' });
    const aborted = writer.abort();
    await tick();
    expect(producer.log).toEqual(['send 1']);
    producer.answer(new Error('failed'));
    await aborted;
    expect(producer.log).toEqual(['send 1', 'abort']);
    expect(writer.batch.messages).toBe(0);
  });
});
