import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { formatLsn, parseLsn } from '#postgres/lsn.ts';
import { UNCHANGED, type CommitMessage, type PgOutputMessage } from '#postgres/pgoutput.ts';
import {
  classifyReplicationError,
  createSlotCommand,
  ReplicationConnection,
  standbyStatusUpdate,
  startReplicationCommand,
  type WalMessage,
} from '#postgres/replication-stream.ts';
import { connectPostgres, postgresConnection, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// The replication connection against the stack's PostgreSQL 15: an exported snapshot that meets the stream
// exactly, every pgoutput message type decoded from real WAL, acknowledgement that moves the slot to exactly
// what was acknowledged and never further, and the slot errors the capture must tell apart.

/** Pulls messages until `done` holds for one of them, failing after the deadline instead of hanging. */
async function take(iterator: AsyncIterator<WalMessage>, done: (message: PgOutputMessage) => boolean, timeoutMs = 20_000): Promise<PgOutputMessage[]> {
  const deadline = Date.now() + timeoutMs;
  const taken: PgOutputMessage[] = [];
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms; received ${taken.map((m) => m.tag).join(',')}`)), Math.max(0, deadline - Date.now()));
    });
    const result = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer));
    if (result.done) throw new Error(`the stream ended; received ${taken.map((m) => m.tag).join(',')}`);
    taken.push(result.value.message);
    if (done(result.value.message)) return taken;
  }
}

/** Pulls messages until `count` commits have been received. */
async function takeTransactions(iterator: AsyncIterator<WalMessage>, count: number): Promise<PgOutputMessage[]> {
  let commits = 0;
  return take(iterator, (message) => message.tag === 'commit' && ++commits === count);
}

function commitsOf(messages: PgOutputMessage[]): CommitMessage[] {
  return messages.filter((message): message is CommitMessage => message.tag === 'commit');
}

describe('replication connection against the stack PostgreSQL', () => {
  let database: { name: string; drop: () => Promise<void> };
  let sql: pg.Client;
  const opened: ReplicationConnection[] = [];
  const slot = uniqueName('trib_slot');
  const applicationName = uniqueName('trib_repl');
  const big = randomBytes(30_000).toString('base64'); // incompressible enough to be TOASTed out of line

  async function replication(options: { maxQueueBytes?: number } = {}): Promise<ReplicationConnection> {
    const connection = await ReplicationConnection.connect(postgresConnection(database.name), { applicationName, ...options });
    opened.push(connection);
    return connection;
  }

  async function confirmedFlush(): Promise<bigint> {
    const { rows } = await sql.query<{ lsn: string }>('SELECT confirmed_flush_lsn AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    return parseLsn(rows[0]?.lsn ?? '0/0');
  }

  beforeAll(async () => {
    database = await scratchPostgresDatabase('trib_repl');
    sql = await connectPostgres(database.name);
    await sql.query(`CREATE TYPE mood AS ENUM ('calm', 'happy')`);
    await sql.query('CREATE TABLE items (id int PRIMARY KEY, name text, big text, note text, feeling mood)');
    await sql.query('CREATE PUBLICATION trib_pub FOR TABLE items');
    await sql.query(`INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two')`);
  });

  afterAll(async () => {
    for (const connection of opened) await connection.close();
    await sql?.end();
    await database?.drop();
  });

  let streamed: PgOutputMessage[] = [];
  let acknowledged = 0n;

  it('exports a snapshot that sees exactly the rows committed before the slot', async () => {
    const connection = await replication();
    const identity = await connection.identify();
    expect(identity).toMatchObject({ dbName: database.name, systemId: expect.stringMatching(/^\d+$/) });
    expect(identity.timeline).toBeGreaterThanOrEqual(1);
    expect(identity.xlogPos).toBeGreaterThan(0n);

    const created = await connection.createSlot(slot, { exportSnapshot: true });
    expect(created.slotName).toBe(slot);
    expect(created.snapshotName).toMatch(/^[0-9A-F]+-[0-9A-F]+-\d+$/);
    expect(created.consistentPoint).toBeGreaterThanOrEqual(identity.xlogPos);

    // Committed after the consistent point: in the stream, not in the snapshot.
    await sql.query(`INSERT INTO items (id, name) VALUES (3, 'three')`);
    const reader = await connectPostgres(database.name);
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query(`SET TRANSACTION SNAPSHOT '${created.snapshotName}'`);
      const inSnapshot = await reader.query<{ id: string }>('SELECT id FROM items ORDER BY id');
      expect(inSnapshot.rows.map((row) => row.id)).toEqual(['1', '2']);
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }
    const now = await sql.query<{ id: string }>('SELECT id FROM items ORDER BY id');
    expect(now.rows.map((row) => row.id)).toEqual(['1', '2', '3']);
    await connection.close();
    await connection.close(); // twice is fine
  });

  it('streams inserts, updates, deletes, truncates and logical messages, decoded', async () => {
    await sql.query(`INSERT INTO items (id, name, big, note, feeling) VALUES (4, 'Zoë 😀 日本', $1, NULL, 'happy')`, [big]);
    await sql.query(`UPDATE items SET name = 'renamed' WHERE id = 4`); // big is TOASTed and unchanged
    await sql.query('DELETE FROM items WHERE id = 3');
    await sql.query('BEGIN');
    await sql.query(`SELECT pg_logical_emit_message(true, 'tributary.test', 'in a transaction ✓')`);
    await sql.query(`INSERT INTO items (id) VALUES (5)`);
    await sql.query('COMMIT');
    await sql.query(`SELECT pg_logical_emit_message(false, 'tributary.heartbeat', 'beat')`);
    await sql.query('TRUNCATE items');

    const connection = await replication();
    const stream = await connection.start({ slot, startLsn: 0n, publications: ['trib_pub'], messages: true });
    const iterator = stream[Symbol.asyncIterator]();
    streamed = await takeTransactions(iterator, 6);

    const tags = streamed.map((message) => message.tag);
    expect(tags).toEqual([
      // id 3, after the consistent point (1 and 2 are not streamed); the relation's enum type is described first
      ...['begin', 'type', 'relation', 'insert', 'commit'],
      ...['begin', 'insert', 'commit'], // id 4
      ...['begin', 'update', 'commit'],
      ...['begin', 'delete', 'commit'],
      ...['begin', 'message', 'insert', 'commit'],
      'message', // not transactional: sent at once, outside any transaction
      ...['begin', 'type', 'relation', 'truncate', 'commit'], // TRUNCATE gives the table a new relfilenode: described again
    ]);

    const type = streamed.find((message) => message.tag === 'type');
    expect(type).toMatchObject({ tag: 'type', namespace: 'public', name: 'mood' });
    const relation = streamed.find((message) => message.tag === 'relation');
    expect(relation).toMatchObject({ tag: 'relation', namespace: 'public', name: 'items', replicaIdentity: 'd' });
    if (relation?.tag !== 'relation' || type?.tag !== 'type') throw new Error('unreachable');
    expect(relation.columns).toEqual([
      { isKey: true, name: 'id', typeOid: 23, typeModifier: -1 },
      { isKey: false, name: 'name', typeOid: 25, typeModifier: -1 },
      { isKey: false, name: 'big', typeOid: 25, typeModifier: -1 },
      { isKey: false, name: 'note', typeOid: 25, typeModifier: -1 },
      { isKey: false, name: 'feeling', typeOid: type.typeOid, typeModifier: -1 },
    ]);

    const changes = streamed.filter((message) => ['insert', 'update', 'delete', 'truncate'].includes(message.tag));
    expect(changes).toEqual([
      { tag: 'insert', relationId: relation.relationId, newTuple: ['3', 'three', null, null, null] },
      { tag: 'insert', relationId: relation.relationId, newTuple: ['4', 'Zoë 😀 日本', big, null, 'happy'] },
      { tag: 'update', relationId: relation.relationId, keyTuple: null, oldTuple: null, newTuple: ['4', 'renamed', UNCHANGED, null, 'happy'] },
      { tag: 'delete', relationId: relation.relationId, keyTuple: ['3', null, null, null, null], oldTuple: null },
      { tag: 'insert', relationId: relation.relationId, newTuple: ['5', null, null, null, null] },
      { tag: 'truncate', relationIds: [relation.relationId], cascade: false, restartIdentity: false },
    ]);

    const messages = streamed.filter((message) => message.tag === 'message');
    expect(messages).toMatchObject([
      { transactional: true, prefix: 'tributary.test', content: Buffer.from('in a transaction ✓') },
      { transactional: false, prefix: 'tributary.heartbeat', content: Buffer.from('beat') },
    ]);

    // Each Begin announces its Commit's LSN; commits come in LSN order, each ending after it starts.
    const commits = commitsOf(streamed);
    const begins = streamed.filter((message) => message.tag === 'begin');
    expect(begins.map((begin) => begin.finalLsn)).toEqual(commits.map((commit) => commit.commitLsn));
    for (let i = 0; i < commits.length; i++) {
      const commit = commits[i] as CommitMessage;
      expect(commit.endLsn).toBeGreaterThan(commit.commitLsn);
      if (i > 0) expect(commit.commitLsn).toBeGreaterThan((commits[i - 1] as CommitMessage).endLsn - 1n);
      expect(Math.abs(commit.commitTime - Date.now())).toBeLessThan(10 * 60_000);
      expect(commit.commitTime).toBe(Number(commit.commitTimeMicros / 1000n) + Date.UTC(2000, 0, 1));
    }

    // Acknowledge the second transaction: the slot moves to exactly that LSN.
    acknowledged = (commits[1] as CommitMessage).endLsn;
    expect(await confirmedFlush()).toBeLessThan(acknowledged);
    connection.acknowledge(acknowledged);
    connection.acknowledge(acknowledged - 1n); // smaller: ignored
    expect(connection.confirmedLsn).toBe(acknowledged);
    await eventually('the slot to confirm the acknowledged LSN', async () => ((await confirmedFlush()) === acknowledged ? true : undefined));

    // More transactions received, not acknowledged; a forced status update leaves the slot where it was.
    await sql.query(`INSERT INTO items (id) VALUES (6)`);
    await sql.query(`INSERT INTO items (id) VALUES (7)`);
    const more = commitsOf(await takeTransactions(iterator, 2));
    expect(more[1]?.endLsn).toBeGreaterThan(acknowledged);
    const replyTime = async () =>
      (await sql.query<{ t: string | null }>('SELECT reply_time::text AS t FROM pg_stat_replication WHERE application_name = $1', [applicationName])).rows[0]?.t ?? null;
    const before = await replyTime();
    // reply_time has µs resolution, so a second update a few ms later is seen as a change.
    connection.sendStatusUpdate();
    await eventually('the server to process a forced status update', async () => ((await replyTime()) !== before ? true : undefined));
    expect(await confirmedFlush()).toBe(acknowledged);

    // Close while a consumer waits: its iteration ends.
    const pending = iterator.next();
    await connection.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(await confirmedFlush()).toBe(acknowledged);
  });

  it('resumes after the acknowledged transaction, and tells a slot in use apart, naming the process', async () => {
    const connection = await replication();
    const stream = await connection.start({ slot, startLsn: acknowledged, publications: ['trib_pub'], messages: true });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await take(iterator, (message) => message.tag === 'begin');
    const commits = commitsOf(streamed);
    // Acknowledging a Commit's endLsn means that transaction is not sent again: the stream resumes at the next.
    expect(first.at(-1)).toMatchObject({ tag: 'begin', finalLsn: (commits[2] as CommitMessage).commitLsn });

    const other = await replication();
    const error = await other.start({ slot, startLsn: acknowledged, publications: ['trib_pub'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retriable: true });
    const { rows } = await sql.query<{ pid: number }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    expect((error as Error).message).toContain(`PID ${rows[0]?.pid}`);
    await other.close();
    await connection.close();
  });

  it('pauses the socket when the queue is full and delivers everything in order once drained', async () => {
    const connection = await replication({ maxQueueBytes: 4096 });
    await sql.query(`INSERT INTO items (id, name) SELECT g, repeat('x', 200) FROM generate_series(100, 2099) AS g`);
    const stream = await connection.start({ slot, startLsn: acknowledged, publications: ['trib_pub'] });
    const iterator = stream[Symbol.asyncIterator]();
    // Internal, on purpose: the bound is the point of this test.
    const socket = (connection as unknown as { client: pg.Client }).client.connection.stream as unknown as { isPaused(): boolean };
    await eventually('back-pressure to pause the socket', async () => (socket.isPaused() ? true : undefined));
    const all = await take(iterator, (message) => message.tag === 'insert' && message.newTuple[0] === '2099');
    const ids = all.filter((message) => message.tag === 'insert').map((message) => (message.tag === 'insert' ? Number(message.newTuple[0]) : 0));
    expect(ids.slice(-2000)).toEqual(Array.from({ length: 2000 }, (_, i) => 100 + i));
    await connection.close();
  });

  it('answers keepalive requests with the acknowledged position, never what it received', async () => {
    // No status updates of its own for an hour; a 1 s wal_sender_timeout (settable per session) has the server
    // ask for a reply every half second and drop the connection if none comes.
    const connection = await ReplicationConnection.connect(postgresConnection(database.name), { applicationName, statusIntervalMs: 3_600_000 });
    opened.push(connection);
    await (connection as unknown as { client: pg.Client }).client.query(`SET wal_sender_timeout = '1s'`);
    const stream = await connection.start({ slot, startLsn: acknowledged, publications: ['trib_pub'] });
    const iterator = stream[Symbol.asyncIterator]();
    const received = await take(iterator, (message) => message.tag === 'insert' && message.newTuple[0] === '2099');
    expect(commitsOf(received).at(-1)?.endLsn ?? 0n).toBeGreaterThan(acknowledged);
    const replyTime = async () =>
      (await sql.query<{ t: string | null }>('SELECT reply_time::text AS t FROM pg_stat_replication WHERE application_name = $1', [applicationName])).rows[0]?.t ?? null;
    const seen = new Set<string | null>([await replyTime()]);
    await eventually('three replies to keepalive requests', async () => (seen.add(await replyTime()).size >= 4 ? true : undefined), 15_000);
    expect(await confirmedFlush()).toBe(acknowledged);
    // Still streaming: the server did not time the connection out.
    await sql.query(`INSERT INTO items (id) VALUES (3000)`);
    await take(iterator, (message) => message.tag === 'insert' && message.newTuple[0] === '3000');
    await connection.close();
  });

  it('ends the iteration with a retriable error when the server drops the walsender', async () => {
    const connection = await replication();
    const stream = await connection.start({ slot, startLsn: acknowledged, publications: ['trib_pub'] });
    const iterator = stream[Symbol.asyncIterator]();
    await take(iterator, (message) => message.tag === 'begin');
    await sql.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    let failure: unknown;
    try {
      await take(iterator, () => false);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(TributaryError);
    expect(failure).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retriable: true });
    expect((failure as Error).message).toMatch(/^streaming replication slot "[^"]+" from [0-9A-F]+\/[0-9A-F]+: terminating connection/);
    await connection.close();
  });

  it('reports a missing slot as POSITION_LOST, and the connection stays usable', async () => {
    const connection = await replication();
    const error = await connection.start({ slot: 'no_such_slot', startLsn: 0n, publications: ['trib_pub'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'POSITION_LOST', retriable: false });
    expect((error as Error).message).toMatch(/replication slot "no_such_slot" does not exist.*new snapshot.*--drop-slot/);
    expect((await connection.identify()).dbName).toBe(database.name);
    const dropped = await connection.dropSlot('no_such_slot').catch((e: unknown) => e);
    expect(dropped).toMatchObject({ code: 'SOURCE_REJECTED' });
    await connection.close();
  });

  it('creates and drops slots with and without an exported snapshot', async () => {
    const connection = await replication();
    const name = uniqueName('trib_tmp');
    const created = await connection.createSlot(name, { exportSnapshot: false });
    expect(created).toMatchObject({ slotName: name, snapshotName: null });
    await connection.dropSlot(name);
    const temporary = await connection.createSlot(`${name}_t`, { exportSnapshot: false, temporary: true });
    expect(temporary.slotName).toBe(`${name}_t`);
    const { rows } = await sql.query<{ slot_name: string; temporary: string }>(
      'SELECT slot_name, temporary FROM pg_replication_slots WHERE slot_name LIKE $1 ORDER BY slot_name',
      [`${name}%`],
    );
    expect(rows).toEqual([{ slot_name: `${name}_t`, temporary: 't' }]); // values as text: the source's session settings
    await connection.close();
  });
});

describe('replication protocol pieces (pure)', () => {
  it('builds CREATE_REPLICATION_SLOT for PostgreSQL 15 and later, and 10 to 14', () => {
    expect(createSlotCommand('s"1', { exportSnapshot: true }, 150_004)).toBe(`CREATE_REPLICATION_SLOT "s""1" LOGICAL pgoutput (SNAPSHOT 'export')`);
    expect(createSlotCommand('s', { exportSnapshot: false, temporary: true }, 160_000)).toBe(`CREATE_REPLICATION_SLOT "s" TEMPORARY LOGICAL pgoutput (SNAPSHOT 'nothing')`);
    expect(createSlotCommand('s', { exportSnapshot: true }, 140_010)).toBe('CREATE_REPLICATION_SLOT "s" LOGICAL pgoutput EXPORT_SNAPSHOT');
    expect(createSlotCommand('s', { exportSnapshot: false, temporary: true }, 100_000)).toBe('CREATE_REPLICATION_SLOT "s" TEMPORARY LOGICAL pgoutput NOEXPORT_SNAPSHOT');
  });

  it('builds START_REPLICATION with quoted publication names', () => {
    expect(startReplicationCommand({ slot: 'slot', startLsn: 0x16b374d848n, publications: ['a', `it's "b"`], messages: true })).toBe(
      `START_REPLICATION SLOT "slot" LOGICAL 16/B374D848 (proto_version '1', publication_names '"a","it''s ""b"""', messages 'true')`,
    );
    expect(startReplicationCommand({ slot: 's', startLsn: 0n, publications: ['p'] })).toBe(
      `START_REPLICATION SLOT "s" LOGICAL 0/0 (proto_version '1', publication_names '"p"')`,
    );
  });

  it('writes a standby status update with the same LSN three times and the clock in µs since 2000', () => {
    const message = standbyStatusUpdate(0x16b374d848n, Date.UTC(2000, 0, 1, 0, 0, 1, 500));
    expect(message).toHaveLength(34);
    expect(message[0]).toBe('r'.charCodeAt(0));
    expect([1, 9, 17].map((at) => formatLsn(message.readBigUInt64BE(at)))).toEqual(['16/B374D848', '16/B374D848', '16/B374D848']);
    expect(message.readBigInt64BE(25)).toBe(1_500_000n);
    expect(message[33]).toBe(0);
  });

  const serverError = (message: string, code: string, detail?: string) => Object.assign(new Error(message), { code, detail, severity: 'ERROR' });
  const lostCases: Array<[string, Error]> = [
    ['missing slot', serverError('replication slot "s" does not exist', '42704')],
    ['invalidated slot (PG 13+)', serverError('can no longer get changes from replication slot "s"', '55000', 'This slot has been invalidated because it exceeded the maximum reserved size.')],
    ['slot invalidated by recovery conflict (PG 16+)', serverError('can no longer get changes from replication slot "s"', '55000', 'This slot has been invalidated because it was conflicting with recovery.')],
    ['other wording with invalidated detail', serverError('cannot read from logical replication slot "s"', '55000', 'This slot has been invalidated because it exceeded the maximum reserved size.')],
    ['WAL removed', serverError('requested WAL segment 000000010000000000000003 has already been removed', '58P01')],
    ['missing slot, message in another language', Object.assign(serverError('le slot de réplication « s » n\'existe pas', '42704'), { routine: 'ReplicationSlotAcquire' })],
  ];
  for (const [name, error] of lostCases) {
    it(`classifies ${name} as POSITION_LOST, saying what to do`, () => {
      const classified = classifyReplicationError('streaming replication slot "s" from 0/0', error, 's');
      expect(classified).toMatchObject({ code: 'POSITION_LOST', retriable: false, cause: error });
      expect(classified.message).toMatch(/^streaming replication slot "s" from 0\/0: /);
      expect(classified.message).toContain('replication slot "s" is gone');
      expect(classified.message).toContain('snapshot: when_needed');
      expect(classified.message).toContain('tributary capture <name> --drop-slot');
    });
  }

  it('classifies a slot active in another process as retriable SOURCE_UNAVAILABLE naming the PID', () => {
    const classified = classifyReplicationError('streaming', serverError('replication slot "s" is active for PID 4242', '55006'), 's');
    expect(classified).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retriable: true });
    expect(classified.message).toContain('PID 4242');
  });

  it('leaves other errors to the plain Postgres classification', () => {
    // A missing publication is a configuration error, not a lost position.
    expect(classifyReplicationError('streaming', serverError('publication "p" does not exist', '42704'), 's')).toMatchObject({ code: 'SOURCE_REJECTED', retriable: false });
    expect(classifyReplicationError('streaming', serverError('not in prerequisite state', '55000'), 's')).toMatchObject({ code: 'SOURCE_REJECTED' });
    expect(classifyReplicationError('streaming', serverError('replication slot "s" was not created in this database', '55000'), 's')).toMatchObject({ code: 'SOURCE_REJECTED' });
    expect(classifyReplicationError('streaming', serverError('terminating connection due to administrator command', '57P01'), 's')).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retriable: true });
    expect(classifyReplicationError('streaming', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toMatchObject({ retriable: true });
    const passed = new TributaryError('INTERNAL', 'x');
    expect(classifyReplicationError('streaming', passed)).toBe(passed);
  });
});
