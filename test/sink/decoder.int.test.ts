import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '#core/change-event.ts';
import type { ConsumedMessage } from '#kafka/consumer.ts';
import { EventEncoder, UNCHANGED_HEADER } from '#kafka/event-codec.ts';
import { buildTableAvro } from '#schemas/table-avro.ts';
import { DOCS_TABLE, mysqlEvent } from '#test/fixtures/events.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';
import { ChangeDecoder } from '#sink/decoder.ts';

const avro = buildTableAvro(DOCS_TABLE, { topicPrefix: uniqueName('codec'), connector: 'mysql' });

async function roundTrip(event: ChangeEvent, headers?: Record<string, string>) {
  const serde = new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') });
  const message = await new EventEncoder(serde).encode(event, avro);
  const consumed: ConsumedMessage = {
    offset: '7',
    key: message.key as Buffer,
    value: message.value as Buffer,
    headers: headers ?? Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
    timestamp: '0',
  };
  return new ChangeDecoder(serde).decode(avro.topic, consumed);
}

const update = (unchanged?: string[]): ChangeEvent => ({
  ...(mysqlEvent('u', null, { id: 1, title: 'b', body: null }, 2) as Extract<ChangeEvent, { op: 'u' }>),
  ...(unchanged ? { unchanged } : {}),
});

describe('ChangeDecoder and unchanged columns', () => {
  it('gives an update the unchanged columns its header names', async () => {
    const decoded = await roundTrip(update(['body']));
    expect(decoded?.change).toEqual({ op: 'upsert', key: { id: 1 }, row: { id: 1, title: 'b', body: null }, position: update().source.position, unchanged: ['body'] });
  });

  it('has no unchanged property without the header, and keeps only non-key columns of the table', async () => {
    expect(await roundTrip(update())).toMatchObject({ change: expect.not.objectContaining({ unchanged: expect.anything() }) });
    const filtered = await roundTrip(update(), { [UNCHANGED_HEADER]: '["id","nope","body","body"]' });
    expect(filtered?.change).toMatchObject({ unchanged: ['body'] });
    const none = await roundTrip(update(), { [UNCHANGED_HEADER]: '["id"]' });
    expect('unchanged' in (none?.change as object)).toBe(false);
    // Only an update can leave values unchanged.
    const created = await roundTrip(mysqlEvent('c', null, { id: 1, title: 'a', body: 'b' }, 1), { [UNCHANGED_HEADER]: '["body"]' });
    expect('unchanged' in (created?.change as object)).toBe(false);
  });

  it('refuses a header that is not a JSON array of names', async () => {
    for (const header of ['body', '{"a":1}', '[1]']) {
      await expect(roundTrip(update(), { [UNCHANGED_HEADER]: header })).rejects.toMatchObject({ code: 'DECODE_FAILED', message: expect.stringContaining('offset 7') });
    }
  });
});
