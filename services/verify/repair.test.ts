import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaptureStatusReport } from '#capture/status.ts';
import { parseConfig } from '#config/load.ts';
import type { SnapshotProgress } from '#core/source.ts';
import type { GroupLag } from '#kafka/group-offsets.ts';
import { extraRowsNote, planRepair, repairDifferences, type RepairHooks, type RepairResult } from './repair.ts';
import type { TableReport } from './report.ts';
import type { RunOptions } from './run.ts';

// The repair's steps and refusals against a fake capture endpoint, with Kafka and the databases replaced by hooks.

const none = { missing: [], extra: [], different: [] };

function report(source: string, counts: { missing?: number; extra?: number; different?: number } | null): TableReport {
  const base = { source, target: `copy.${source.split('.')[1]}`, key: [{ name: 'id', type: { kind: 'int64' as const } }], notes: [], seconds: 0.1 };
  if (counts === null) return { ...base, problem: 'could not be compared: gone' };
  const full = { missing: 0, extra: 0, different: 0, ...counts };
  return { ...base, counts: { sourceRows: 10, targetRows: 10, compared: 10, ...full, examples: { ...none, extra: full.extra > 0 ? [['99']] : [] } } };
}

const RUN: RunOptions = { source: 'pg', sink: 'copy', tables: [], parallel: 1, verify: {} };

function config(port: number | null) {
  return parseConfig(
    [
      'kafka: { brokers: "127.0.0.1:9", topicPrefix: tp }',
      'schemaRegistry: { url: "http://127.0.0.1:9" }',
      'sources:',
      `  - { name: pg, type: postgres, connection: { host: 127.0.0.1, port: 5432, user: u, password: secret-password, database: d }${port === null ? '' : `, http: { port: ${port} }`} }`,
      'sinks:',
      '  - { name: copy, type: mariadb, topics: { pattern: "^tp\\\\.public\\\\..*" }, connection: { host: 127.0.0.1, port: 3306, user: u, password: p, database: copy } }',
    ].join('\n'),
  );
}

function capture(snapshot: SnapshotProgress[], lastCommitAt: string | null, extra: Partial<CaptureStatusReport> = {}): CaptureStatusReport {
  return {
    kind: 'capture',
    name: 'pg',
    type: 'postgres',
    state: 'streaming',
    startedAt: '',
    position: null,
    lastCommitAt,
    lastEventTime: null,
    events: 0,
    eventsPerSecond: 0,
    snapshot,
    slot: null,
    lastError: null,
    ...extra,
  };
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A capture endpoint answering `answer(n)` to its n-th status read. */
async function endpoint(answer: (n: number) => CaptureStatusReport): Promise<number> {
  let n = 0;
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(answer(n++)));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function sink(): { out: NodeJS.WriteStream; said: string[]; drawn: () => string } {
  let text = '';
  const out = Object.assign(new Writable({ write: (chunk: Buffer, _e, done) => ((text += chunk.toString()), done()) }), { isTTY: false }) as unknown as NodeJS.WriteStream;
  return { out, said: [], drawn: () => text };
}

async function repair(port: number | null, first: TableReport[], hooks: RepairHooks, timeoutMs = 2_000): Promise<RepairResult & { said: string[]; drawn: string }> {
  const output = sink();
  const result = await repairDifferences(config(port), RUN, first, { timeoutMs, out: output.out, say: (line) => output.said.push(line), pollMs: 5, hooks });
  return { ...result, said: output.said, drawn: output.drawn() };
}

const lag = (end: string, lagMessages: string): GroupLag => ({
  group: 'copy',
  state: 'Stable',
  members: 1,
  partitions: [{ topic: 'tp.public.items', partition: 0, committed: null, end, lagMessages, lagSeconds: lagMessages === '0' ? 0 : 1 }],
  totalLagMessages: lagMessages,
});

describe('planRepair', () => {
  it('re-snapshots tables with rows missing or different, never for extra rows alone', () => {
    const plan = planRepair([
      report('public.a', {}),
      report('public.b', { missing: 1, extra: 1 }),
      report('public.c', { different: 2 }),
      report('public.d', { extra: 3 }),
      report('public.e', null),
    ]);
    expect(plan).toEqual({ resnapshot: ['public.b', 'public.c'], extraOnly: ['public.d'], notVerified: ['public.e'] });
  });
});

describe('repairDifferences', () => {
  it('sends one signal for the differing tables, follows its snapshot, waits for the sink and verifies again', async () => {
    const id = 'sig-1';
    // An earlier, done snapshot of items by another signal; then ours appears, runs, finishes; commits follow.
    const old: SnapshotProgress = { table: 'public.items', rowsDone: 5, rowsEstimated: 5, rowsPerSecond: 0, done: true, signal: 'old' };
    const mine = (rowsDone: number, done: boolean): SnapshotProgress[] => [
      { table: 'public.items', rowsDone, rowsEstimated: 10, rowsPerSecond: 100, done, signal: id },
      { table: 'public.lines', rowsDone: done ? 3 : 0, rowsEstimated: 3, rowsPerSecond: 100, done, signal: id },
    ];
    const port = await endpoint((n) =>
      n === 0 ? capture([old], 'c0') : n === 1 ? capture([old], 'c0') : n === 2 ? capture(mine(4, false), 'c1') : n === 3 ? capture(mine(10, true), 'c1') : capture(mine(10, true), n < 6 ? 'c2' : 'c3'),
    );
    const sent: string[][] = [];
    const lags = [lag('40', '30'), lag('41', '10'), lag('42', '2'), lag('42', '0')];
    let lagReads = 0;
    const verified: string[][] = [];
    const first = [report('public.items', { missing: 1, different: 1, extra: 1 }), report('public.lines', { missing: 2 }), report('public.tags', { extra: 1 }), report('public.ok', {})];
    const result = await repair(port, first, {
      sendSignal: async (tables) => (sent.push(tables), id),
      readLag: async () => lags[Math.min(lagReads++, lags.length - 1)] as GroupLag,
      verify: async (tables) => {
        verified.push(tables);
        return [report('public.items', { extra: 1 }), report('public.lines', {}), report('public.tags', { extra: 1 })];
      },
    });
    expect(sent).toEqual([['public.items', 'public.lines']]);
    expect(verified).toEqual([['public.items', 'public.lines', 'public.tags']]);
    expect(result.outcome).toBe('repaired');
    expect(result.signal).toBe(id);
    expect(result.snapshot).toEqual([
      { table: 'public.items', rows: 10 },
      { table: 'public.lines', rows: 3 },
    ]);
    expect(result.message).toBe('re-snapshot done: 1 of 2 re-snapshotted tables match now');
    expect(result.said).toEqual([
      'public.tags: only rows extra in the target differ; a re-snapshot cannot remove them, so it is not re-snapshotted',
      're-snapshotting 2 tables: public.items, public.lines (whole tables: the capture of source "pg" re-reads each table and re-emits all its rows; per-key repair is not done)',
      `sent snapshot signal ${id} to tp.signals`,
      'snapshot done: public.items 10 rows re-emitted, public.lines 3 rows re-emitted',
      expect.stringMatching(/^sink "copy" applied the snapshot \(\d+\.\d s\)$/),
      'verifying the 3 tables again',
    ]);
    expect(result.drawn).toContain('waiting for sink "copy" to apply the snapshot: 30 offsets behind on 1 partition');
    // Every table with its latest report; the ones with extra rows carry the explanation.
    expect(result.tables.map((t) => t.source)).toEqual(['public.items', 'public.lines', 'public.tags', 'public.ok']);
    expect(result.tables[0]?.notes).toEqual([extraRowsNote(1)]);
    expect(result.tables[1]?.notes).toEqual([]);
    expect(result.tables[3]).toBe(first[3]);
  });

  it('refuses without an http endpoint: no signal is sent', async () => {
    let sent = false;
    const result = await repair(null, [report('public.items', { missing: 1 })], { sendSignal: async () => ((sent = true), 'x') });
    expect(sent).toBe(false);
    expect(result.outcome).toBe('not sent');
    expect(result.signal).toBeNull();
    expect(result.message).toBe(
      'not repaired: source "pg" has no http endpoint configured; verify --repair follows the capture\'s snapshot in its status endpoint (sources[].http), so no snapshot signal was sent',
    );
  });

  it('refuses when the capture does not answer: no signal is sent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    let sent = false;
    const result = await repair(port, [report('public.items', { missing: 1 })], { sendSignal: async () => ((sent = true), 'x') });
    expect(sent).toBe(false);
    expect(result.outcome).toBe('not sent');
    expect(result.message).toMatch(/^not repaired: the capture of source "pg" does not answer \(GET http:\/\/127\.0\.0\.1:\d+\/status: ECONNREFUSED\); no snapshot signal was sent$/);
  });

  it('reports what the status shows when the capture never takes up the signal', async () => {
    const other: SnapshotProgress = { table: 'public.items', rowsDone: 5, rowsEstimated: 5, rowsPerSecond: 0, done: true, signal: 'old' };
    const port = await endpoint(() => capture([other], 'c0', { type: 'mariadb' }));
    const result = await repair(port, [report('public.items', { different: 1 })], { sendSignal: async () => 'sig-2', verify: async () => expect.fail('no second pass') }, 100);
    expect(result.outcome).toBe('not started');
    expect(result.signal).toBe('sig-2');
    expect(result.final).toEqual([]);
    expect(result.message).toMatch(
      /^not repaired: after 0\.1 s the status of the capture of source "pg" \(type mariadb, streaming\) lists no snapshot of public\.items for signal sig-2, only entries of other snapshots for them \(public\.items: done, signal old\)\. Either the source does not perform ad-hoc snapshots/,
    );
  });

  it('stops following a capture that failed for good', async () => {
    const failed = { state: 'failed' as const, lastError: { code: 'POSITION_LOST', message: 'the slot is gone', at: '' } };
    const port = await endpoint((n) => (n === 0 ? capture([], 'c0') : capture([], 'c0', failed)));
    const result = await repair(port, [report('public.items', { missing: 1 })], { sendSignal: async () => 's' });
    expect(result.outcome).toBe('capture failed');
    expect(result.message).toBe('not repaired: the capture of source "pg" failed (POSITION_LOST: the slot is gone) during the snapshot of signal s');
  });

  it('does nothing when only extra rows differ, and says why', async () => {
    let sent = false;
    const result = await repair(12345, [report('public.items', { extra: 2 }), report('public.ok', {})], { sendSignal: async () => ((sent = true), 'x') });
    expect(sent).toBe(false);
    expect(result.outcome).toBe('nothing to re-snapshot');
    expect(result.message).toBe('nothing to re-snapshot: no table has rows missing or different; rows extra in the target need a delete in the target by hand');
    expect(result.tables[0]?.notes).toEqual([extraRowsNote(2)]);
  });

  it('says when the sink does not apply the snapshot in time', async () => {
    const done: SnapshotProgress[] = [{ table: 'public.items', rowsDone: 10, rowsEstimated: 10, rowsPerSecond: 0, done: true, signal: 's' }];
    // A capture that commits all the time (every read shows a new commit).
    const port = await endpoint((n) => (n === 0 ? capture([], 'c0') : capture(done, `c${n}`)));
    const stuck = { ...lag('40', '30'), members: 0 };
    const result = await repair(port, [report('public.items', { missing: 1 })], { sendSignal: async () => 's', readLag: async () => stuck }, 300);
    expect(result.outcome).toBe('sink behind');
    expect(result.message).toBe(
      'not repaired: sink "copy" has not applied what the snapshot emitted within 0.3 s: 30 offsets behind on 1 partition; its consumer group has no member (is sink "copy" running?)',
    );
  });
});
