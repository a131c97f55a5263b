import { describe, expect, it } from 'vitest';
import type { CaptureStatusReport } from '#capture/status.ts';
import type { Pipelines, SinkPipeline, SourcePipeline } from '#admin/pipelines.ts';
import { ageText, bytesText, positionText, snapshotText, statusText } from './status-text.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');

const capture = (overrides: Partial<CaptureStatusReport>): CaptureStatusReport => ({
  kind: 'capture',
  name: 'billing',
  type: 'postgres',
  state: 'streaming',
  startedAt: '2024-05-01T11:00:00.000Z',
  position: { lsn: '0/16B3748' },
  lastCommitAt: '2024-05-01T11:59:59.000Z',
  lastEventTime: '2024-05-01T11:59:55.000Z',
  events: 1000,
  eventsPerSecond: 42,
  snapshot: [],
  slot: { name: 'tributary_billing', active: true, retainedWalBytes: '5452595', walStatus: 'reserved', checkedAt: '2024-05-01T11:59:58.000Z' },
  lastError: null,
  ...overrides,
});

const sources: SourcePipeline[] = [
  { kind: 'source', name: 'billing', type: 'postgres', state: 'streaming', endpoint: 'http://127.0.0.1:9101', status: capture({}), error: null },
  {
    kind: 'source',
    name: 'shop',
    type: 'mariadb',
    state: 'unreachable',
    endpoint: 'http://127.0.0.1:9102',
    status: null,
    error: 'GET http://127.0.0.1:9102/status: ECONNREFUSED',
  },
  { kind: 'source', name: 'legacy', type: 'mysql', state: 'unknown (no http endpoint configured)', endpoint: null, status: null, error: null },
];

const sink: SinkPipeline = {
  kind: 'sink',
  name: 'reporting',
  type: 'mariadb',
  state: 'consuming',
  endpoint: 'http://127.0.0.1:9201',
  status: {
    kind: 'sink',
    name: 'reporting',
    type: 'mariadb',
    groupId: 'reporting',
    state: 'consuming',
    startedAt: '2024-05-01T11:00:00.000Z',
    topics: ['t'],
    partitions: [],
    applied: 10,
    appliedPerSecond: 7,
    deadLetters: 0,
    pausedTopics: [],
    lastError: { code: 'TARGET_UNAVAILABLE', message: 'connection lost', at: '2024-05-01T11:58:00.000Z' },
  },
  error: null,
  lag: {
    group: 'reporting',
    state: 'Stable',
    members: 1,
    partitions: [
      { topic: 't', partition: 0, committed: '10', end: '15', lagMessages: '5', lagSeconds: 2.5 },
      { topic: 't', partition: 1, committed: '3', end: '4', lagMessages: '1', lagSeconds: 0 },
    ],
    totalLagMessages: '6',
  },
  deadLetters: { topic: 'tributary.dlq.reporting', messages: '3' },
  kafkaError: null,
};

describe('statusText', () => {
  it('prints a table of sources and one of sinks, then what could not be read', () => {
    const lake: SinkPipeline = {
      ...sink,
      name: 'lake',
      state: 'unreachable',
      status: null,
      lag: null,
      deadLetters: { topic: 'tributary.dlq.lake', messages: null },
      kafkaError: 'reading the lag of group "lake": timed out',
    };
    const pipelines: Pipelines = { sources, sinks: [sink, lake] };
    expect(statusText(pipelines, NOW).split('\n')).toEqual([
      'source   type      state                                  position       events/s  last event  snapshot  slot WAL',
      'billing  postgres  streaming                              lsn 0/16B3748        42  5s ago      -          5.2 MiB',
      'shop     mariadb   unreachable                            -                     -  -           -                -',
      'legacy   mysql     unknown (no http endpoint configured)  -                     -  -           -                -',
      '',
      'sink       type     state        lag (messages)  max lag (s)  applied/s  dead letters',
      'reporting  mariadb  consuming                 6          2.5          7             3',
      'lake       mariadb  unreachable               -            -          -             -',
      '',
      'source shop: GET http://127.0.0.1:9102/status: ECONNREFUSED',
      'sink reporting: last error (2m ago) TARGET_UNAVAILABLE: connection lost',
      'sink lake: reading the lag of group "lake": timed out',
    ]);
  });

  it('says so when nothing is configured', () => {
    expect(statusText({ sources: [], sinks: [] }, NOW)).toBe('no sources configured\n\nno sinks configured');
  });
});

describe('status cells', () => {
  it('shows positions in the source\'s own terms', () => {
    expect(positionText({ binlog: { file: 'mysql-bin.000003', pos: '4711', gtids: '' } })).toBe('mysql-bin.000003:4711');
    expect(positionText({ lsn: '0/16B3748', snapshot: { completed: [], table: null, lastKey: null } })).toBe('lsn 0/16B3748');
    expect(positionText(null)).toBe('none');
    expect(positionText({ other: 1 })).toBe('{"other":1}');
  });

  it('sums a running snapshot and names a finished one', () => {
    const table = (name: string, rowsDone: number, rowsEstimated: number, done: boolean) => ({ table: name, rowsDone, rowsEstimated, rowsPerSecond: 0, done });
    expect(snapshotText([])).toBe('-');
    expect(snapshotText([table('a', 5, 5, true), table('b', 9, 9, true)])).toBe('done (2 tables)');
    expect(snapshotText([table('a', 5, 5, true), table('b', 1_500, 1_000, false), table('c', 0, 20_000, false)])).toBe('1/3 tables, 1,500/~21,500 rows');
  });

  it('writes ages and byte counts for people', () => {
    expect(ageText(NOW - 4_000, NOW)).toBe('4s ago');
    expect(ageText(NOW - 600_000, NOW)).toBe('10m ago');
    expect(ageText(NOW - 3 * 3_600_000, NOW)).toBe('3h ago');
    expect(ageText(NOW - 3 * 86_400_000, NOW)).toBe('3d ago');
    expect(ageText(NOW + 5_000, NOW)).toBe('0s ago');
    expect(bytesText(512n)).toBe('512 B');
    expect(bytesText(1_536n)).toBe('1.5 KiB');
    expect(bytesText(5_452_595n)).toBe('5.2 MiB');
  });
});
