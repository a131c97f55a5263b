import { rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { TributaryConfig } from '#config/schema.ts';
import { clickHouseClient } from '#connectors/clickhouse/client.ts';
import { withAdmin } from '#kafka/admin.ts';
import { createKafka } from '#kafka/client.ts';
import { mySqlOptions } from '#mysql/connection.ts';
import { pgOptions } from '#postgres/connection.ts';
import { publicationNameOf, slotNameOf } from '#postgres/names.ts';
import { MARIADB_SHOP, POSTGRES_SHOP, type DemoSources } from './env.ts';

// `--reset`: the demo from nothing, as on a fresh machine. Everything tributary.yaml's pipeline owns goes: the
// shops, the PostgreSQL slot and publication, every topic of the config's prefix (change topics and the captures'
// offsets and schema history), the sinks' consumer groups, their target databases and the lake's directory.
// Registry subjects stay: the shops come back with the same schemas. Only with no demo process running.

export async function resetDemo(config: TributaryConfig, sources: DemoSources, print: (line: string) => void): Promise<void> {
  const maria = await mysql.createConnection(mySqlOptions(sources.mariadb.connection));
  try {
    const databases = [MARIADB_SHOP, ...config.sinks.flatMap((s) => (s.type === 'mariadb' || s.type === 'mysql' ? [s.connection.database ?? ''] : []))];
    for (const database of databases.filter(Boolean)) await maria.query(`DROP DATABASE IF EXISTS \`${database}\``);
    print(`dropped MariaDB databases ${databases.join(', ')}`);
  } finally {
    await maria.end();
  }

  const postgres = new pg.Client(pgOptions(sources.postgres.connection, { applicationName: 'tributary-demo-reset' }));
  postgres.on('error', () => undefined);
  await postgres.connect();
  try {
    const slot = slotNameOf(sources.postgres);
    await postgres.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    await postgres.query(`DROP PUBLICATION IF EXISTS "${publicationNameOf(sources.postgres)}"`);
    await postgres.query(`DROP SCHEMA IF EXISTS ${POSTGRES_SHOP} CASCADE`);
    print(`dropped PostgreSQL schema ${POSTGRES_SHOP}, slot and publication ${slot}`);
  } finally {
    await postgres.end();
  }

  for (const sink of config.sinks) {
    if (sink.type === 'clickhouse') {
      const client = clickHouseClient(sink.connection, { application: 'tributary-demo-reset', requestTimeoutMs: 30_000 });
      try {
        await client.command({ query: `DROP DATABASE IF EXISTS \`${sink.connection.database}\`` });
      } finally {
        await client.close();
      }
      print(`dropped ClickHouse database ${sink.connection.database}`);
    } else if (sink.type === 'lake' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(sink.connection.path)) {
      rmSync(sink.connection.path, { recursive: true, force: true });
      print(`removed ${sink.connection.path}`);
    }
  }

  const prefix = `${config.kafka.topicPrefix}.`;
  await withAdmin(createKafka(config.kafka), async (admin) => {
    const groups = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    const ours = config.sinks.map((s) => s.name).filter((name) => groups.has(name));
    if (ours.length > 0) await admin.deleteGroups(ours);
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    // Deletion completes in the background; a capture creating the same topic meanwhile would be refused.
    for (let waited = 0; waited < 30_000; waited += 500) {
      if (!(await admin.listTopics()).some((topic) => topic.startsWith(prefix))) break;
      await delay(500);
    }
    print(`deleted ${topics.length} topics ${prefix}* and consumer groups ${ours.join(', ') || '(none)'}`);
  });
}
