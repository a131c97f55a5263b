import { describe, expect, it } from 'vitest';
import { MessageBatch, topicMessages, type EncodedBatch } from './message-batch.ts';

/** What the producer thread receives: the batch after a structured clone with its buffers transferred. */
function transferred(batch: MessageBatch): EncodedBatch {
  const encoded = batch.encoded();
  return structuredClone(encoded, { transfer: [encoded.data, encoded.index] });
}

describe('MessageBatch', () => {
  it('gives back every message, grouped by topic in order of first appearance, with keys, values and timestamps', () => {
    const batch = new MessageBatch();
    batch.add('a', { key: 'k1', value: Buffer.from([1, 2, 3]), timestamp: '1795000000123' });
    batch.add('b', { key: null, value: 'ü text' });
    batch.add('a', { key: Buffer.alloc(0), value: null, timestamp: '1795000000124' });
    const keyStart = batch.used;
    const keyEnd = batch.write(Buffer.from('raw key'));
    const valueStart = batch.used;
    const valueEnd = batch.write('raw value');
    batch.addRanges('b', keyStart, keyEnd, valueStart, valueEnd, 42);
    expect(batch.messages).toBe(4);

    const sent = topicMessages(transferred(batch));
    expect(sent.map((t) => t.topic)).toEqual(['a', 'b']);
    expect(sent[0]?.messages).toEqual([
      { key: Buffer.from('k1'), value: Buffer.from([1, 2, 3]), timestamp: '1795000000123' },
      { key: Buffer.alloc(0), value: null, timestamp: '1795000000124' },
    ]);
    expect(sent[1]?.messages).toEqual([
      { key: null, value: Buffer.from('ü text') },
      { key: Buffer.from('raw key'), value: Buffer.from('raw value'), timestamp: '42' },
    ]);
  });

  it('grows past its initial buffer and index without losing what was written', () => {
    const batch = new MessageBatch();
    const value = Buffer.alloc(700, 9);
    for (let i = 0; i < 10_000; i++) batch.add('t', { key: String(i), value });
    batch.add('t', { key: 'huge', value: Buffer.alloc(3 * 1024 * 1024, 1) });
    const [topic] = topicMessages(transferred(batch));
    expect(topic?.messages).toHaveLength(10_001);
    expect(topic?.messages[9_999]).toEqual({ key: Buffer.from('9999'), value });
    expect(topic?.messages[10_000]?.value?.length).toBe(3 * 1024 * 1024);
  });

  it('carries headers across threads as Buffers again, for the few messages that have them', () => {
    const batch = new MessageBatch();
    batch.add('t', { key: 'a', value: 'x' });
    batch.add('t', { key: 'b', value: null, headers: { 'tributary.position': 'p1', raw: Buffer.from([0, 255]), many: ['x', Buffer.from('y')] } });
    const [topic] = topicMessages(transferred(batch));
    expect(topic?.messages[0]?.headers).toBeUndefined();
    const headers = topic?.messages[1]?.headers ?? {};
    expect(headers['tributary.position']).toBe('p1');
    expect(Buffer.isBuffer(headers.raw)).toBe(true);
    expect(headers.raw).toEqual(Buffer.from([0, 255]));
    expect(headers.many).toEqual(['x', Buffer.from('y')]);
    expect(Buffer.isBuffer((headers.many as unknown[])[1])).toBe(true);
  });

  it('writes into reused buffers as into new ones', () => {
    const first = new MessageBatch();
    first.add('t', { key: 'old', value: 'old value' });
    const encoded = transferred(first);
    const second = new MessageBatch({ data: encoded.data, index: encoded.index });
    second.add('u', { key: 'new', value: 'v' });
    expect(topicMessages(transferred(second))).toEqual([{ topic: 'u', messages: [{ key: Buffer.from('new'), value: Buffer.from('v') }] }]);
  });
});
