import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { pgOptions } from '#postgres/connection.ts';
import { ensurePublication } from '#postgres/publication.ts';
import { dropSlot, emitHeartbeat, slotInfo, slotProblem } from '#postgres/slot.ts';
import { connectPostgres, postgresConnection, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// Slots made with SQL on the stack: slotInfo reads them, slotProblem judges them, a heartbeat message moves the
// server's LSN and reaches pgoutput, dropSlot drops an idle slot and, when asked, one a walsender streams from.

describe('replication slots against the stack PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof scratchPostgresDatabase>>;
  let client: pg.Client;
  const publication = uniqueName('tslot_pub');

  beforeAll(async () => {
    database = await scratchPostgresDatabase('tslot');
    client = await connectPostgres(database.name);
    await ensurePublication(client, publication, []);
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('reads nothing for a slot that does not exist', async () => {
    expect(await slotInfo(client, uniqueName('tslot_none'))).toBeNull();
    expect(await dropSlot(client, uniqueName('tslot_none'))).toBe(false);
  });

  it('reads a pgoutput slot, sees it fall behind a heartbeat, and drops it', async () => {
    const name = uniqueName('tslot');
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
    const info = await slotInfo(client, name);
    expect(info).toMatchObject({ name, slotType: 'logical', database: database.name, plugin: 'pgoutput', active: false, activePid: null, walStatus: 'reserved' });
    expect(typeof info?.confirmedFlushLsn).toBe('bigint');
    expect(info?.restartLsn).not.toBeNull();
    expect(info?.retainedBytes).toBeGreaterThanOrEqual(0n);
    expect(info?.reservedBytes).toBeGreaterThanOrEqual(info?.retainedBytes ?? 0n);
    expect(slotProblem(info!, database.name)).toBeNull();
    expect(slotProblem(info!, 'elsewhere')?.code).toBe('PREFLIGHT_FAILED');

    const lsn = await emitHeartbeat(client);
    expect(lsn).toBeGreaterThan(info!.confirmedFlushLsn!);
    // The message commits nothing, so it reaches pg_current_wal_lsn() when the WAL writer writes it out.
    await eventually('the slot to fall behind the heartbeat', async () => {
      const after = await slotInfo(client, name);
      return after!.retainedBytes! > info!.retainedBytes! ? after : undefined;
    });
    // pgoutput hands the message to a consumer that asks for messages.
    const { rows } = await client.query<{ data: string }>(
      `SELECT encode(data, 'escape') AS data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
         'proto_version', '1', 'publication_names', $2, 'messages', 'true')`,
      [name, publication],
    );
    expect(rows.some((row) => row.data.includes('tributary.heartbeat'))).toBe(true);

    expect(await dropSlot(client, name)).toBe(true);
    expect(await slotInfo(client, name)).toBeNull();
  });

  it('tells a physical slot from a logical one', async () => {
    const name = uniqueName('tslot_phys');
    await client.query('SELECT pg_create_physical_replication_slot($1)', [name]);
    try {
      const info = await slotInfo(client, name);
      expect(info).toMatchObject({ slotType: 'physical', database: null, plugin: null, confirmedFlushLsn: null, retainedBytes: null });
      expect(slotProblem(info!, database.name)?.message).toContain('is a physical slot');
    } finally {
      await dropSlot(client, name);
    }
  });

  it('drops a slot a walsender streams from only when asked to end the walsender', async () => {
    const name = uniqueName('tslot_active');
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
    const streamer = new pg.Client(pgOptions(postgresConnection(database.name), { replication: true }));
    streamer.on('error', () => undefined);
    await streamer.connect();
    // The query lasts as long as the stream: it ends when the walsender is terminated.
    const streaming = streamer
      .query(`START_REPLICATION SLOT ${name} LOGICAL 0/0 (proto_version '1', publication_names '${publication}')`)
      .catch(() => undefined);
    try {
      const pid = await eventually('the slot to be active', async () => (await slotInfo(client, name))?.activePid ?? undefined);

      const refused = await dropSlot(client, name).catch((thrown: unknown) => thrown);
      expect(refused).toBeInstanceOf(TributaryError);
      expect((refused as TributaryError).message).toBe(
        `dropping replication slot "${name}": the slot is in use by process ${pid}; stop the capture that streams from it first`,
      );
      expect(await slotInfo(client, name)).not.toBeNull();

      expect(await dropSlot(client, name, { terminateActive: true })).toBe(true);
      expect(await slotInfo(client, name)).toBeNull();
      await streaming;
    } finally {
      await streamer.end().catch(() => undefined);
      await dropSlot(client, name, { terminateActive: true });
    }
  });
});
