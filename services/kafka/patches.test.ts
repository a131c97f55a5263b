import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

// deploy/patches/apply.cjs runs at `npm install`; without it a large send costs quadratic CPU in kafkajs.
describe('kafkajs patches', () => {
  it('the installed groupMessagesPerPartition is the linear one', () => {
    const installed = readFileSync(require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js'), 'utf8');
    expect(installed).toBe(readFileSync(new URL('../../deploy/patches/kafkajs/groupMessagesPerPartition.js', import.meta.url), 'utf8'));
  });

  it('groups messages by partition in their original order', () => {
    const group = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (args: unknown) => Record<string, Array<{ key: string }>>;
    const messages = ['a', 'b', 'c', 'd', 'e'].map((key) => ({ key }));
    const grouped = group({
      topic: 't',
      partitionMetadata: [{ partitionId: 0 }, { partitionId: 1 }],
      messages,
      partitioner: ({ message }: { message: { key: string } }) => (message.key === 'b' || message.key === 'd' ? 1 : 0),
    });
    expect(grouped).toEqual({ 0: [{ key: 'a' }, { key: 'c' }, { key: 'e' }], 1: [{ key: 'b' }, { key: 'd' }] });
    expect(group({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual({});
  });
});
