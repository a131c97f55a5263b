import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '#core/change-event.ts';
import { ensureTopics } from '#kafka/admin.ts';
import { createKafka } from '#kafka/client.ts';
import { EventEncoder } from '#kafka/event-codec.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { buildTableAvro } from '#schemas/table-avro.ts';
import { GOLDEN_MAX_ROW, goldenTable } from '#test/fixtures/golden-mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';

// The `tributary` command as a user runs it: a separate process, its stdout, stderr and exit code.

const run = promisify(execFile);
const bin = new URL('../../bin/tributary.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));

async function tributary(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'error' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const prefix = uniqueName('cli');
const validConfig = () =>
  configFile(
    'ok.yaml',
    `kafka:\n  brokers: \${KAFKA_BROKERS}\n  topicPrefix: ${prefix}\nschemaRegistry:\n  url: \${SCHEMA_REGISTRY_URL}\n`,
  );

describe('tributary config check', () => {
  it('accepts a valid file and exits 0', async () => {
    const result = await tributary('config', 'check', '--config', validConfig());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`topicPrefix=${prefix}`);
  });

  it('names the key path and exits 1 for a bad file, without printing the password', async () => {
    const bad = configFile(
      'bad.yaml',
      [
        'kafka:',
        '  brokers: [127.0.0.1:19092]',
        'schemaRegistry:',
        '  url: http://127.0.0.1:18081',
        'sources:',
        '  - name: shop',
        '    type: mysql',
        '    connection: { host: 127.0.0.1, port: "three", user: root, password: canary-S3cret-cli }',
        '    snapshot: sometimes',
      ].join('\n'),
    );
    const result = await tributary('config', 'check', '--config', bad);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/sources\[0\]\.connection\.port/);
    expect(result.stderr).toMatch(/sources\[0\]\.snapshot/);
    expect(result.stderr).not.toContain('canary-S3cret-cli');
    expect(result.stderr.split('\n').filter((l) => /^\s+at /.test(l))).toEqual([]);
  });

  it('says which file is missing', async () => {
    const result = await tributary('config', 'check', '--config', join(dir, 'absent.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('absent.yaml');
  });
});

describe('tributary tail', () => {
  const kafka = createKafka({ brokers: stackEnv('KAFKA_BROKERS').split(',') });
  const avro = buildTableAvro(goldenTable('inventory'), { topicPrefix: prefix, connector: 'mysql' });
  let producer: TransactionalProducer;

  beforeAll(async () => {
    await ensureTopics(kafka, [{ topic: avro.topic }]);
    producer = await TransactionalProducer.connect(kafka, `${prefix}-tail`);
  });
  afterAll(async () => producer?.close());

  it('prints committed messages as JSON lines with exact values', async () => {
    const encoder = new EventEncoder(new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') }));
    const event = {
      op: 'r',
      before: null,
      after: GOLDEN_MAX_ROW,
      source: { connector: 'mysql', name: prefix, db: 'inventory', table: 'golden', tsMs: 1, snapshot: 'last', position: 'p1' },
      tsMs: 2,
    } as ChangeEvent;
    await producer.commit([{ topic: avro.topic, messages: [await encoder.encode(event, avro)] }]);

    const result = await tributary('tail', avro.topic, '--from-beginning', '--max-messages', '1', '--config', validConfig());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    // 64-bit values stay exact in the JSON text; JSON.parse would round them, so check the text itself.
    expect(line).toContain('"key":{"id":9223372036854775807}');
    expect(line).toContain('"big":-9223372036854775808');
    expect(line).toContain('"price":"9999999999999999999999999999.9999999999"');
    expect(line).toContain('"at_local":253402300799999999');
    expect(line).toContain('"payload":"AAEC/v8A"');
    expect(JSON.parse(line)).toMatchObject({ topic: avro.topic, partition: 0, offset: '0', value: { op: 'r', after: { name: 'Zoë 😀 "quoted" \\ back' } } });
  });

  it('fails with a clear message for a topic that does not exist', async () => {
    const result = await tributary('tail', `${prefix}.missing`, '--max-messages', '1', '--config', validConfig());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`topic "${prefix}.missing" does not exist`);
  });
});
