import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '#core/change-event.ts';
import { buildTableAvro } from '#schemas/table-avro.ts';
import { DOCS_TABLE, mysqlEvent } from '#test/fixtures/events.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';
import { EventEncoder, POSITION_HEADER, UNCHANGED_HEADER } from '#kafka/event-codec.ts';
import { MessageBatch, topicMessages } from '#kafka/message-batch.ts';

const avro = buildTableAvro(DOCS_TABLE, { topicPrefix: uniqueName('codec'), connector: 'mysql' });

const insert = mysqlEvent('c', null, { id: 1, title: 'a', body: 'long' }, 1);
const update = (unchanged?: string[]): ChangeEvent => ({ ...(mysqlEvent('u', null, { id: 1, title: 'b', body: null }, 2) as Extract<ChangeEvent, { op: 'u' }>), ...(unchanged ? { unchanged } : {}) });
const remove = mysqlEvent('d', { id: 1, title: 'b', body: null }, null, 3);

describe('EventEncoder and unchanged columns', () => {
  it('adds the unchanged header only to an update that has unchanged columns, on the hot path', async () => {
    const encoder = new EventEncoder(new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') }));
    const batch = new MessageBatch();
    for (const event of [insert, update(['body']), update([]), update(), remove]) {
      const appending = encoder.append(batch, event, avro);
      // Synchronous once the table's schemas are registered (after the first event).
      if (event !== insert) expect(appending).toBeUndefined();
      await appending;
    }
    const [topic] = topicMessages(batch.encoded());
    expect(topic?.messages.map((m) => m.headers)).toEqual([undefined, { [UNCHANGED_HEADER]: '["body"]' }, undefined, undefined, undefined]);
  });

  it('adds it in encode() too, and keeps the tombstone\'s position header', async () => {
    const encoder = new EventEncoder(new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') }));
    expect((await encoder.encode(update(['body', 'title']), avro)).headers).toEqual({ [UNCHANGED_HEADER]: '["body","title"]' });
    expect((await encoder.encode(update(), avro)).headers).toBeUndefined();
    expect((await encoder.encode(insert, avro)).headers).toBeUndefined();
    expect((await encoder.tombstone(remove, avro))?.headers).toEqual({ [POSITION_HEADER]: remove.source.position });
  });
});
