import { describe, expect, it } from 'vitest';
import type { CaptureStatusReport } from '#capture/status.ts';
import type { SinkStatusReport } from '#sink/status.ts';
import { mariaDbTarget } from '#test/sink/targets.ts';
import { captureConfig, startCapture, startSink } from '#test/support/capture-process.ts';
import { processScope } from '#test/support/process-scope.ts';
import { freePort, get } from '#test/support/http.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// A capture's and a sink's own endpoints, read the way Prometheus and an operator read them: the figures match what
// happened (rows captured and applied, the slot's retained WAL), beyond loopback every request but the probes needs
// the admin token, and no answer or log line carries a secret from the config.

describe('process status and metrics endpoints', () => {
  const { processes, cleanups } = processScope();

  it('report a PostgreSQL capture and a MariaDB sink: events, slot WAL, applied changes, lag; token and secrets hold', async () => {
    const db = await scratchPostgresDatabase('pgstat');
    cleanups.push(db.drop);
    const client = await connectPostgres(db.name);
    cleanups.push(() => client.end());
    await client.query('CREATE TABLE items (id int PRIMARY KEY, val text NOT NULL, n int NOT NULL)');
    await client.query("INSERT INTO items SELECT g, 'v' || g, g FROM generate_series(1, 500) g");

    const target = mariaDbTarget();
    const targetDb = uniqueName('stat');
    await target.createDatabase(targetDb);
    cleanups.push(() => target.dropDatabase(targetDb));

    const source = uniqueName('pgs');
    const prefix = uniqueName('st');
    const sinkName = uniqueName('sk');
    const [capturePort, sinkPort] = [await freePort(), await freePort()];
    const token = `canary-token-${uniqueName('t')}`;
    const salt = `canary-salt-${uniqueName('s')}`;
    const config = captureConfig({
      prefix,
      source,
      database: db.name,
      type: 'postgres',
      extra: [
        `    http: { host: 0.0.0.0, port: ${capturePort} }`,
        `    columns: { mask: ['public.items.nothing'], maskSalt: "${salt}" }`,
        '    heartbeatIntervalMs: 1000',
      ].join('\n'),
      sinks: target.sinkYaml({
        name: sinkName,
        database: targetDb,
        pattern: `^${prefix}\\.public\\..*`,
        extra: [`    http: { port: ${sinkPort} }`],
      }),
    });
    const withAdmin = `${config}.admin.yaml`;
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(withAdmin, `${readFileSync(config, 'utf8')}\nadmin:\n  token: "${token}"\n`);

    const capture = startCapture(withAdmin, source, 'info');
    const sink = startSink(withAdmin, sinkName, {}, 'info');
    processes.push(capture, sink);
    const captureUrl = `http://127.0.0.1:${capturePort}`;
    const sinkUrl = `http://127.0.0.1:${sinkPort}`;

    // Beyond loopback: the probes answer anyone, everything else needs the token.
    await eventually('the capture endpoint', async () => ((await get(`${captureUrl}/health`)).status === 200 ? true : undefined));
    expect((await get(`${captureUrl}/status`)).status).toBe(401);
    expect((await get(`${captureUrl}/metrics`, 'wrong-token-of-the-same-size-xxxxxxxxxxxx')).status).toBe(401);

    await eventually('the snapshot to end', async () => {
      const report = JSON.parse((await get(`${captureUrl}/status`, token)).body) as CaptureStatusReport;
      return report.state === 'streaming' && report.events === 500 ? report : undefined;
    });
    await client.query("INSERT INTO items SELECT g, 'v' || g, g FROM generate_series(501, 600) g");
    await client.query('UPDATE items SET n = n + 1 WHERE id <= 10');
    await client.query('DELETE FROM items WHERE id = 600');

    const status = await eventually('the capture to report every change', async () => {
      const report = JSON.parse((await get(`${captureUrl}/status`, token)).body) as CaptureStatusReport;
      // The slot is checked every 10 s: the first check after streaming began shows it active.
      return report.events >= 611 && report.slot?.active ? report : undefined;
    });
    expect(status).toMatchObject({ kind: 'capture', name: source, type: 'postgres', state: 'streaming', events: 611 });
    expect(status.snapshot).toEqual([expect.objectContaining({ table: 'public.items', rowsDone: 500, done: true })]);
    expect(status.position).not.toBeNull();
    expect(status.slot).toMatchObject({ active: true });
    expect(BigInt(status.slot?.retainedWalBytes ?? '-1')).toBeGreaterThanOrEqual(0n);

    const metrics = (await get(`${captureUrl}/metrics`, token)).body;
    const series = (name: string) => metricValue(metrics, name);
    expect(series(`tributary_capture_events_total{source="${source}",table="public.items",op="r"`)).toBe(500);
    expect(series(`tributary_capture_events_total{source="${source}",table="public.items",op="c"`)).toBe(100);
    expect(series(`tributary_capture_events_total{source="${source}",table="public.items",op="u"`)).toBe(10);
    expect(series(`tributary_capture_events_total{source="${source}",table="public.items",op="d"`)).toBe(1);
    expect(series(`tributary_postgres_slot_retained_wal_bytes{source="${source}",slot="`)).toBeGreaterThanOrEqual(0);
    expect(metrics).toContain('tributary_process_resident_memory_bytes');

    // The sink, on loopback, still wants the token once the config has one. Its committed offset is the end of the
    // topic once everything is applied.
    const sinkStatus = await eventually('the sink to apply every change', async () => {
      const report = JSON.parse((await get(`${sinkUrl}/status`, token)).body) as SinkStatusReport;
      return report.applied >= 611 ? report : undefined;
    });
    expect(sinkStatus).toMatchObject({ kind: 'sink', name: sinkName, state: 'consuming', applied: 611, deadLetters: 0 });
    expect(await target.rowCount(targetDb, 'items')).toBe(599);
    const sinkMetrics = (await get(`${sinkUrl}/metrics`, token)).body;
    expect(metricValue(sinkMetrics, `tributary_sink_changes_applied_total{sink="${sinkName}",table="public.items",op="delete"`)).toBe(1);
    // Offsets, not messages: the transaction marker after the last message counts, so caught up is 0 or 1.
    expect(metricValue(sinkMetrics, `tributary_sink_lag_messages{sink="${sinkName}",topic="${prefix}.public.items",partition="0"`)).toBeLessThanOrEqual(1);

    // No answer and no log line carries a secret of the config.
    const outputs = [
      metrics,
      sinkMetrics,
      (await get(`${captureUrl}/status`, token)).body,
      (await get(`${captureUrl}/metrics.json`, token)).body,
      (await get(`${sinkUrl}/status`, token)).body,
      capture.output(),
      sink.output(),
    ].join('\n');
    expect(outputs).not.toContain(token);
    expect(outputs).not.toContain(salt);

    capture.child.kill('SIGTERM');
    sink.child.kill('SIGTERM');
    expect(await capture.exited).toBe(0);
    expect(await sink.exited).toBe(0);
  });
});

/** The value of the first series whose text starts with `prefix` (name and the first labels). */
function metricValue(metrics: string, prefix: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
