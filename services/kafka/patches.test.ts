import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';

const require = createRequire(import.meta.url);

/** The parts of kafkajs's protocol Encoder the tests write with. */
interface KafkaEncoder {
  buffer: Buffer;
  writeInt16(value: number): KafkaEncoder;
  writeInt32(value: number): KafkaEncoder;
  writeString(value: string | null): KafkaEncoder;
  writeBuffer(value: Buffer): KafkaEncoder;
}

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

  it('the installed request framing is the one-buffer one, and writes what the protocol says', async () => {
    const path = require.resolve('kafkajs/src/protocol/request.js');
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(new URL('../../deploy/patches/kafkajs/request.js', import.meta.url), 'utf8'));
    const createRequest = require(path) as (args: object) => Promise<{ buffer: Buffer }>;
    const Encoder = require('kafkajs/src/protocol/encoder') as new () => KafkaEncoder;
    for (const clientId of ['tributary-capture', 'clïent-é', '', null]) {
      for (const bodySize of [0, 1, 511, 512, 70_000]) {
        const body = Buffer.from(Array.from({ length: bodySize }, (_, i) => (i * 31) % 256));
        const encode = async () => new Encoder().writeBuffer(body);
        const framed = await createRequest({ correlationId: 123_456, clientId, request: { apiKey: 0, apiVersion: 3, encode } });
        // Size, then request header v1 (api key, api version, correlation id, client id as a nullable STRING), then the body.
        const header = new Encoder().writeInt16(0).writeInt16(3).writeInt32(123_456).writeString(clientId).writeBuffer(body);
        const expected = new Encoder().writeInt32(header.buffer.length).writeBuffer(header.buffer);
        expect(framed.buffer.equals(expected.buffer), `client id ${String(clientId)}, ${bodySize} bytes`).toBe(true);
      }
    }
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
  it('writes a whole produce request, topics and partitions, byte for byte as kafkajs\'s own encoder does', async () => {
    type Encoder = { buffer: Buffer };
    type RequestEncoder = (args: object) => Encoder | null | Promise<Encoder>;
    const { requestEncoders } = require('kafkajs/src/protocol/requests/produce/v3/request.js') as {
      requestEncoders: { fast: RequestEncoder; original: RequestEncoder };
    };
    const Long = require('kafkajs/src/utils/long') as { fromValue: (v: unknown) => unknown };
    let seed = 5;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const message = () => ({
      key: random() < 0.1 ? null : Buffer.from(Array.from({ length: Math.floor(random() * 20) }, () => Math.floor(random() * 256))),
      value: Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256))),
      timestamp: String(1_795_000_000_000 + Math.floor(random() * 1000)),
    });
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_795_000_000_123);
    try {
      for (let round = 0; round < 40; round++) {
        const topicData = Array.from({ length: round % 4 }, (_, t) => ({
          topic: t === 1 ? 'shöp.public.customers' : `tributary.t${t}.orders`,
          partitions: Array.from({ length: 1 + Math.floor(random() * 4) }, (_, p) => ({
            partition: p,
            firstSequence: Math.floor(random() * 2 ** 31),
            messages: Array.from({ length: 1 + Math.floor(random() * 50) }, message),
          })),
        }));
        const args = {
          acks: round % 2 === 0 ? -1 : 1,
          timeout: 30_000,
          transactionalId: round % 3 === 0 ? null : 'tributary-capture-bench',
          producerId: Long.fromValue(String(Math.floor(random() * 2 ** 53))),
          producerEpoch: Math.floor(random() * 2 ** 15),
          compression: 0,
          topicData,
        };
        const fast = requestEncoders.fast(args);
        expect(fast, `round ${round}`).not.toBeNull();
        const original = await requestEncoders.original(args);
        expect((fast as Encoder).buffer.equals((original as Encoder).buffer), `round ${round}`).toBe(true);
      }
      // A partition the fast path leaves to the original sends the whole request that way.
      const withHeaders = {
        acks: -1,
        timeout: 30_000,
        transactionalId: 'tx',
        producerId: Long.fromValue(1),
        producerEpoch: 0,
        compression: 0,
        topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages: [{ key: null, value: null, headers: { a: 'b' } }] }] }],
      };
      expect(requestEncoders.fast(withHeaders)).toBeNull();
    } finally {
      now.mockRestore();
    }
  });
});
