import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { JavaCompatiblePartitioner, murmur2 } from './partitioner.ts';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

describe('JavaCompatiblePartitioner', () => {
  it("hashes every key length and byte value exactly as kafkajs's Long-based murmur2", () => {
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const different: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const key = Buffer.from(Array.from({ length: i % 41 }, () => Math.floor(random() * 256)));
      if (murmur2(key) !== kafkajsMurmur2(key)) different.push(key.toString('hex'));
    }
    expect(different).toEqual([]);
    // Known Java values: Utils.murmur2("21".getBytes()) and of the empty array.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.alloc(0))).toBe(275646681);
  });

  it('chooses the partition the DefaultPartitioner chooses, and leaves other messages to it', () => {
    const ours = JavaCompatiblePartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 7 }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 1, replicas: [1], isr: [1] }));
    for (let i = 0; i < 1_000; i++) {
      const message = { key: Buffer.from(`key-${i}`), value: null };
      expect(ours({ topic: 't', partitionMetadata, message })).toBe(theirs({ topic: 't', partitionMetadata, message }));
    }
    expect(ours({ topic: 't', partitionMetadata, message: { key: 'text', value: null } })).toBe(
      theirs({ topic: 't', partitionMetadata, message: { key: 'text', value: null } }),
    );
    expect(ours({ topic: 't', partitionMetadata, message: { key: Buffer.from('k'), value: null, partition: 5 } })).toBe(5);
  });
});
