import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';

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

  it('the installed CRC-32C is the eight-bytes-at-a-time one, and gives the checksum bit by bit arithmetic gives', () => {
    const path = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js');
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(new URL('../../deploy/patches/kafkajs/crc32C.js', import.meta.url), 'utf8'));
    const crc32C = require(path) as (buffer: Buffer) => number;
    const reference = (buffer: Buffer) => {
      let crc = 0xffffffff;
      for (const byte of buffer) {
        crc ^= byte;
        for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
      }
      return (crc ^ 0xffffffff) >>> 0;
    };
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283); // the standard check value of CRC-32C
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const length of [...Array(40).keys(), 255, 256, 1_000, 4_099, 65_537]) {
      const buffer = Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
      expect(crc32C(buffer), `${length} bytes`).toBe(reference(buffer));
      // At an odd offset of a larger buffer, as record batches are checksummed (a subarray after the batch header).
      expect(crc32C(Buffer.concat([Buffer.alloc(3), buffer]).subarray(3)), `${length} bytes at offset 3`).toBe(reference(buffer));
    }
  });

  it('the installed produce request is the one-buffer encoder', () => {
    const installed = readFileSync(require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js'), 'utf8');
    expect(installed).toBe(readFileSync(new URL('../../deploy/patches/kafkajs/produceRequestV3.js', import.meta.url), 'utf8'));
  });

  it("writes a partition's record batch byte for byte as kafkajs's own encoder does", async () => {
    type Encoder = { buffer: Buffer };
    type PartitionEncoder = (data: object) => Encoder | null | Promise<Encoder>;
    const { partitionEncoders } = require('kafkajs/src/protocol/requests/produce/v3/request.js') as {
      partitionEncoders: { fast: PartitionEncoder; original: (compression: number) => PartitionEncoder };
    };
    const Long = require('kafkajs/src/utils/long') as { fromValue: (v: unknown) => unknown };
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const bytes = (max: number) => {
      const buffer = Buffer.alloc(Math.floor(random() * max));
      for (let i = 0; i < buffer.length; i += 7) buffer[i] = Math.floor(random() * 256);
      return buffer;
    };
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_795_000_000_123);
    try {
      for (let round = 0; round < 120; round++) {
        const count = 1 + Math.floor(random() * (round % 30 === 0 ? 3000 : 40));
        const messages = Array.from({ length: count }, () => {
          const message: { key: Buffer | null; value: Buffer | null; timestamp?: string; headers?: object } = {
            key: random() < 0.1 ? null : bytes(20),
            value: random() < 0.1 ? null : bytes(round % 7 === 0 ? 5_000 : 400),
          };
          if (random() < 0.8) message.timestamp = String(1_795_000_000_000 + Math.floor(random() * (round % 5 === 0 ? 10 ** 9 : 1000)));
          if (random() < 0.05) message.headers = {};
          return message;
        });
        const data = {
          partition: Math.floor(random() * 64),
          messages,
          transactionalId: random() < 0.5 ? 'tx' : null,
          firstSequence: Math.floor(random() * 2 ** 31),
          producerId: Long.fromValue(String(Math.floor(random() * 2 ** 53))),
          producerEpoch: Math.floor(random() * 2 ** 15),
        };
        const fast = partitionEncoders.fast(data);
        expect(fast, `round ${round}`).not.toBeNull();
        const original = (await partitionEncoders.original(0)(data)) as Encoder;
        expect((fast as Encoder).buffer.equals(original.buffer), `round ${round}`).toBe(true);
      }
      // What the fast path leaves to the original: headers and string keys.
      const base = { partition: 0, transactionalId: 'tx', firstSequence: 0, producerId: Long.fromValue(1), producerEpoch: 0 };
      expect(partitionEncoders.fast({ ...base, messages: [{ key: null, value: null, headers: { a: 'b' } }] })).toBeNull();
      expect(partitionEncoders.fast({ ...base, messages: [{ key: 'k', value: null }] })).toBeNull();
    } finally {
      now.mockRestore();
    }
  });
});
