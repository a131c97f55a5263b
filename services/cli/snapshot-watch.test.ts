import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SnapshotProgress } from '#core/source.ts';
import { progressLine, SnapshotTracker, watchSnapshot } from './snapshot-watch.ts';

const entry = (table: string, rowsDone: number, rowsEstimated: number, done: boolean): SnapshotProgress => ({
  table,
  rowsDone,
  rowsEstimated,
  rowsPerSecond: 250,
  done,
});

describe('SnapshotTracker', () => {
  it('waits for a table until the capture shows it, running or newly done', () => {
    const tracker = new SnapshotTracker(['shop.orders', 'shop.items'], []);
    expect(tracker.update([]).map((t) => t.state)).toEqual(['waiting', 'waiting']);
    expect(tracker.update([entry('shop.orders', 10, 100, false)]).map((t) => t.state)).toEqual(['running', 'waiting']);
    expect(tracker.update([entry('shop.orders', 100, 100, true), entry('shop.items', 7, 7, true)]).map((t) => t.state)).toEqual(['done', 'done']);
  });

  it('does not take the finished entry of an earlier snapshot for this one', () => {
    const earlier = entry('shop.orders', 100, 100, true);
    const tracker = new SnapshotTracker(['shop.orders'], [earlier]);
    expect(tracker.update([earlier])[0]?.state).toBe('waiting');
    // Seen running once: done when it is done again, even with the same figures.
    expect(tracker.update([entry('shop.orders', 0, 100, false)])[0]?.state).toBe('running');
    expect(tracker.update([earlier])[0]?.state).toBe('done');
    // Or done with other figures than before: it ran between two looks.
    expect(new SnapshotTracker(['shop.orders'], [earlier]).update([entry('shop.orders', 104, 100, true)])[0]?.state).toBe('done');
  });

  it('given the signal id, counts only the entries that carry it', () => {
    const mine = (rowsDone: number, done: boolean) => ({ ...entry('shop.orders', rowsDone, 100, done), signal: 'mine' });
    const tracker = new SnapshotTracker(['shop.orders'], [], 'mine');
    // Another signal's snapshot of the table, or one from before signals carried ids, is not this one.
    expect(tracker.update([{ ...entry('shop.orders', 100, 100, true), signal: 'other' }])[0]?.state).toBe('waiting');
    expect(tracker.update([entry('shop.orders', 100, 100, true)])[0]?.state).toBe('waiting');
    expect(tracker.update([mine(10, false)])[0]).toEqual({ table: 'shop.orders', state: 'running', progress: mine(10, false) });
    // Done on the first look is done: the id says it is this snapshot.
    expect(new SnapshotTracker(['shop.orders'], [], 'mine').update([mine(100, true)])[0]?.state).toBe('done');
  });
});

describe('progressLine', () => {
  it('shows a bar on a terminal, plain figures elsewhere, and never 100% before done', () => {
    const running = { table: 'shop.orders', state: 'running' as const, progress: entry('shop.orders', 500, 1_000, false) };
    expect(progressLine(running, 12, true)).toBe(`shop.orders   [${'#'.repeat(15)}${'-'.repeat(15)}]  50%  500/~1,000 rows, 250 rows/s`);
    expect(progressLine(running, 12, false)).toBe('shop.orders    50%  500/~1,000 rows, 250 rows/s');
    const over = { ...running, progress: entry('shop.orders', 1_200, 1_000, false) };
    expect(progressLine(over, 11, false)).toBe('shop.orders   99%  1,200/~1,200 rows, 250 rows/s');
    const done = { table: 'shop.orders', state: 'done' as const, progress: entry('shop.orders', 1_200, 1_000, true) };
    expect(progressLine(done, 11, false)).toBe('shop.orders  100%  done, 1,200 rows');
    expect(progressLine({ table: 'a.b', state: 'waiting', progress: null }, 5, true)).toBe('a.b    waiting for the capture to start it');
  });
});

describe('watchSnapshot', () => {
  it('polls the capture until every table is done, writing a line per change when not on a terminal', async () => {
    const answers = [[], [entry('shop.orders', 0, 10, false)], [entry('shop.orders', 5, 10, false)], [entry('shop.orders', 10, 10, true)]];
    let asked = 0;
    const server = createServer((request, response) => {
      expect(request.headers.authorization).toBe('Bearer a-token');
      const snapshot = answers[Math.min(asked++, answers.length - 1)];
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ kind: 'capture', name: 'shop', state: 'streaming', snapshot }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let written = '';
    const out = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          written += chunk.toString();
          done();
        },
      }),
      { isTTY: false },
    ) as unknown as NodeJS.WriteStream;
    try {
      const outcome = await watchSnapshot({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        token: 'a-token',
        tracker: new SnapshotTracker(['shop.orders'], []),
        signal: new AbortController().signal,
        out,
        pollMs: 1,
      });
      expect(outcome).toBe('done');
      expect(asked).toBe(4);
      // The second running figure comes within the throttle: only the first and the last are written.
      expect(written.split('\n')).toEqual([
        'shop.orders  waiting for the capture to start it',
        'shop.orders  100%  done, 10 rows',
        '',
      ]);
    } finally {
      server.close();
    }
  });

  it('returns when aborted, and says once that the capture does not answer', async () => {
    let written = '';
    const out = Object.assign(new Writable({ write: (chunk: Buffer, _e, done) => ((written += chunk.toString()), done()) }), { isTTY: false }) as unknown as NodeJS.WriteStream;
    // A port nothing listens on any more.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const outcome = await watchSnapshot({ url: `http://127.0.0.1:${port}`, token: undefined, tracker: new SnapshotTracker(['a.b'], []), signal: abort.signal, out, pollMs: 20 });
    expect(outcome).toBe('stopped');
    expect(written.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^the capture does not answer \(GET http:\/\/127\.0\.0\.1:\d+\/status: ECONNREFUSED\); still waiting/)]);
  });

  it('gives up when the capture stays unreachable past unreachableTimeoutMs', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { out, written } = collector();
    const outcome = await watchSnapshot({
      url: `http://127.0.0.1:${port}`,
      token: undefined,
      tracker: new SnapshotTracker(['a.b'], [], 'id'),
      signal: new AbortController().signal,
      out,
      pollMs: 10,
      unreachableTimeoutMs: 100,
    });
    expect(outcome).toBe('unreachable');
    expect(written()).toMatch(/still waiting for up to 0\.1 s\n$/);
  });

  it("gives up when no entry of the signal shows within startTimeoutMs, and hands every status read to onStatus", async () => {
    // A capture that does not act on the signal: its status never lists the table under this signal.
    const server = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ kind: 'capture', name: 'shop', type: 'mariadb', state: 'streaming', snapshot: [{ ...entry('shop.orders', 5, 5, true), signal: 'old' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { out } = collector();
    const seen: string[] = [];
    try {
      const outcome = await watchSnapshot({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        token: undefined,
        tracker: new SnapshotTracker(['shop.orders'], [], 'new'),
        signal: new AbortController().signal,
        out,
        pollMs: 10,
        startTimeoutMs: 150,
        onStatus: (status, tables) => seen.push(`${status.type}:${tables[0]?.state}`),
      });
      expect(outcome).toBe('not started');
      expect(seen.length).toBeGreaterThan(2);
      expect(new Set(seen)).toEqual(new Set(['mariadb:waiting']));
    } finally {
      server.close();
    }
  });

  it('does not give up on the start timeout while a table runs', async () => {
    let asked = 0;
    const server = createServer((_request, response) => {
      asked++;
      const snapshot = [{ ...entry('shop.orders', asked, 100, asked >= 30), signal: 'id' }];
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ kind: 'capture', name: 'shop', state: 'snapshotting', snapshot }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { out } = collector();
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const outcome = await watchSnapshot({ url, token: undefined, tracker: new SnapshotTracker(['shop.orders'], [], 'id'), signal: new AbortController().signal, out, pollMs: 10, startTimeoutMs: 50 });
      expect(outcome).toBe('done');
      expect(asked).toBe(30);
    } finally {
      server.close();
    }
  });
});

function collector(): { out: NodeJS.WriteStream; written: () => string } {
  let text = '';
  const out = Object.assign(new Writable({ write: (chunk: Buffer, _e, done) => ((text += chunk.toString()), done()) }), { isTTY: false }) as unknown as NodeJS.WriteStream;
  return { out, written: () => text };
}
