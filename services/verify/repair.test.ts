import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaptureStatusReport } from '#capture/status.ts';
import { parseConfig } from '#config/load.ts';
import type { SnapshotProgress } from '#core/source.ts';
import type { GroupLag } from '#kafka/group-offsets.ts';
import type { TableKeys } from '#kafka/signals.ts';
import { extraRowsNote, planRepair, repairDifferences, type RepairHooks, type RepairResult } from './repair.ts';
import type { TableReport } from './report.ts';
import type { RunOptions } from './run.ts';

// The repair's steps and refusals against a fake capture endpoint, with Kafka and the databases replaced by hooks.

const none = { missing: [], extra: [], different: [] };

type Differences = { missing?: number; extra?: number; different?: number };

/**
 * A table's report. The first pass of a repair collects the differing keys: `keys` gives them as ids (null: too many);
 * without it, as many keys as differences are made up (none when it matches).
 */
function report(source: string, counts: Differences | null, keys?: number[] | null): TableReport {
  const base = { source, target: `copy.${source.split('.')[1]}`, key: [{ name: 'id', type: { kind: 'int64' as const } }], notes: [], seconds: 0.1 };
  if (counts === null) return { ...base, problem: 'could not be compared: gone' };
  const full = { missing: 0, extra: 0, different: 0, ...counts };
  const ids = keys === undefined ? Array.from({ length: full.missing + full.extra + full.different }, (_, i) => i + 1) : keys;
  const differingKeys = ids === null ? null : ids.map((id) => [String(id)]);
  return { ...base, counts: { sourceRows: 10, targetRows: 10, compared: 10, ...full, examples: { ...none, extra: full.extra > 0 ? [['99']] : [] }, differingKeys } };
}

/** A report without keys collected, as the second pass makes. */
function again(source: string, counts: Differences): TableReport {
  const { differingKeys: _, ...rest } = report(source, counts).counts as NonNullable<TableReport['counts']>;
  return { ...report(source, counts), counts: rest };
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
  it('repairs every differing table by its keys, extra rows too, when they fit in one signal', () => {
    const plan = planRepair([
      report('public.a', {}),
      report('public.b', { missing: 1, extra: 1 }, [3, 7]),
      report('public.c', { different: 2 }, [5, 6]),
      report('public.d', { extra: 3 }, [100, 101, 102]),
      report('public.e', null),
    ]);
    expect(plan).toEqual({
      byKeys: [
        { table: 'public.b', keys: 2 },
        { table: 'public.c', keys: 2 },
        { table: 'public.d', keys: 3 },
      ],
      whole: [],
      extraOnly: [],
      notVerified: ['public.e'],
      signalKeys: { 'public.b': [['3'], ['7']], 'public.c': [['5'], ['6']], 'public.d': [['100'], ['101'], ['102']] },
    });
  });

  it('re-snapshots whole the tables whose keys were too many, never for extra rows alone', () => {
    const plan = planRepair([
      report('public.b', { missing: 1, extra: 1 }, null),
      report('public.c', { different: 2 }, [5, 6]),
      report('public.d', { extra: 3 }, null),
      // Keys not collected (a first pass without repairKeys), or none left although the counts differed.
      again('public.f', { missing: 1 }),
      report('public.g', { different: 1 }, []),
    ]);
    expect(plan).toMatchObject({ byKeys: [{ table: 'public.c', keys: 2 }], whole: ['public.b', 'public.f', 'public.g'], extraOnly: ['public.d'], notVerified: [] });
    expect(Object.keys(plan.signalKeys)).toEqual(['public.c']);
  });

  it('fills the signal with the tables of fewest keys first; the others go whole', () => {
    const plan = planRepair(
      [report('public.big', { missing: 4 }, [1, 2, 3, 4]), report('public.one', { different: 1 }, [9]), report('public.two', { extra: 2 }, [5, 6]), report('public.three', { extra: 3 }, [1, 2, 3])],
      6,
    );
    expect(plan).toMatchObject({
      byKeys: [
        { table: 'public.one', keys: 1 },
        { table: 'public.two', keys: 2 },
        { table: 'public.three', keys: 3 },
      ],
      whole: ['public.big'],
      extraOnly: [],
    });
  });
});

describe('repairDifferences', () => {
  it('sends one signal carrying the differing keys, follows its snapshot, waits for the sink and verifies again', async () => {
    const id = 'sig-1';
    // An earlier, done snapshot of items by another signal; then ours appears, runs, finishes; commits follow.
    const old: SnapshotProgress = { table: 'public.items', rowsDone: 5, rowsEstimated: 5, rowsPerSecond: 0, done: true, signal: 'old' };
    const mine = (rowsDone: number, done: boolean): SnapshotProgress[] => [
      { table: 'public.items', rowsDone, rowsEstimated: 10, rowsPerSecond: 100, done, signal: id },
      { table: 'public.lines', rowsDone: done ? 2 : 0, rowsEstimated: 2, rowsPerSecond: 100, done, signal: id },
      { table: 'public.tags', rowsDone: done ? 1 : 0, rowsEstimated: 1, rowsPerSecond: 100, done, signal: id },
    ];
    const port = await endpoint((n) =>
      n === 0 ? capture([old], 'c0') : n === 1 ? capture([old], 'c0') : n === 2 ? capture(mine(4, false), 'c1') : n === 3 ? capture(mine(10, true), 'c1') : capture(mine(10, true), n < 6 ? 'c2' : 'c3'),
    );
    const sent: { tables: string[]; keys: TableKeys }[] = [];
    const lags = [lag('40', '30'), lag('41', '10'), lag('42', '2'), lag('42', '0')];
    let lagReads = 0;
    const verified: string[][] = [];
    // items: too many keys (whole); lines: two keys missing; tags: one key extra, which the keys repair too.
    const first = [report('public.items', { missing: 1, different: 1, extra: 1 }, null), report('public.lines', { missing: 2 }, [4, 8]), report('public.tags', { extra: 1 }, [99]), report('public.ok', {})];
    const result = await repair(port, first, {
      sendSignal: async (tables, keys) => (sent.push({ tables, keys }), id),
      readLag: async () => lags[Math.min(lagReads++, lags.length - 1)] as GroupLag,
      verify: async (tables) => {
        verified.push(tables);
        return [again('public.items', { extra: 1 }), again('public.lines', {}), again('public.tags', {})];
      },
    });
    expect(sent).toEqual([{ tables: ['public.lines', 'public.tags', 'public.items'], keys: { 'public.lines': [['4'], ['8']], 'public.tags': [['99']] } }]);
    expect(verified).toEqual([['public.items', 'public.lines', 'public.tags']]);
    expect(result.outcome).toBe('repaired');
    expect(result.signal).toBe(id);
    expect(result.plan).toMatchObject({ byKeys: [{ table: 'public.lines', keys: 2 }, { table: 'public.tags', keys: 1 }], whole: ['public.items'], extraOnly: [] });
    expect(result.snapshot).toEqual([
      { table: 'public.lines', keys: 2 },
      { table: 'public.tags', keys: 1 },
      { table: 'public.items', rows: 10 },
    ]);
    expect(result.message).toBe('repair done: 2 of 3 repaired tables match now');
    expect(result.said).toEqual([
      're-emitting 2 keys of public.lines, 1 key of public.tags: the capture of source "pg" re-reads those keys and deletes the ones the source does not have',
      're-snapshotting 1 table: public.items (whole tables, too many differing keys to repair by key (one signal carries 5,000): the capture of source "pg" re-reads each table and re-emits all its rows)',
      `sent snapshot signal ${id} to tp.signals`,
      'snapshot done: public.lines 2 keys re-read, public.tags 1 key re-read, public.items 10 rows re-emitted',
      expect.stringMatching(/^sink "copy" applied the snapshot \(\d+\.\d s\)$/),
      'verifying the 3 tables again',
    ]);
    expect(result.drawn).toContain('waiting for sink "copy" to apply the snapshot: 30 offsets behind on 1 partition');
    // Every table with its latest report; the one re-snapshotted whole with extra rows left carries the explanation.
    expect(result.tables.map((t) => t.source)).toEqual(['public.items', 'public.lines', 'public.tags', 'public.ok']);
    expect(result.tables[0]?.notes).toEqual([extraRowsNote(1)]);
    expect(result.tables[1]?.notes).toEqual([]);
    expect(result.tables[3]).toBe(first[3]);
  });

  it('leaves the extra rows of a table repaired by key without the note when the repair is not sent', async () => {
    const result = await repair(null, [report('public.items', { extra: 2 }, [7, 8])], {});
    expect(result.outcome).toBe('not sent');
    expect(result.plan.byKeys).toEqual([{ table: 'public.items', keys: 2 }]);
    expect(result.tables[0]?.notes).toEqual([]);
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

  it('does nothing when only extra rows differ, too many to repair by key, and says why', async () => {
    let sent = false;
    const said: string[] = [];
    const result = await repairDifferences(config(12345), RUN, [report('public.items', { extra: 2 }, null), report('public.ok', {})], {
      timeoutMs: 100,
      out: sink().out,
      say: (line) => said.push(line),
      hooks: { sendSignal: async () => ((sent = true), 'x') },
    });
    expect(sent).toBe(false);
    expect(result.outcome).toBe('nothing to re-snapshot');
    expect(said).toEqual([
      'public.items: only rows extra in the target differ, too many differing keys to repair by key (one signal carries 5,000); a whole-table re-snapshot cannot remove them, so it is not re-snapshotted',
    ]);
    expect(result.message).toBe(
      'nothing to re-snapshot: the rows extra in the target are too many differing keys to repair by key (one signal carries 5,000), and a whole-table re-snapshot deletes nothing; delete them in the target by hand',
    );
    expect(result.tables[0]?.notes).toEqual([extraRowsNote(2)]);
  });

  it('has nothing to re-snapshot when every table matches', async () => {
    const result = await repair(12345, [report('public.ok', {})], {});
    expect(result).toMatchObject({ outcome: 'nothing to re-snapshot', message: 'nothing to re-snapshot: every table matches' });
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
