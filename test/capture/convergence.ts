import type mysql from 'mysql2/promise';
import pg from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
import type { ReadMessage, TopicReader } from '#test/support/topic-reader.ts';
import { eventually } from '#test/support/wait.ts';

// What a user of a capture relies on: replaying a table's topic (read_committed) gives back the table, and no
// source change appears twice. The helpers take a MySQL connection or a PostgreSQL client; the table is
// `(id BIGINT PRIMARY KEY, val VARCHAR(64), n INT)` in both.

export type Database = mysql.Connection | pg.Client;

/** Runs one statement with `?` placeholders on either engine; PostgreSQL's `$n` are numbered here. */
async function run(db: Database, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (db instanceof pg.Client) {
    let n = 0;
    return (await db.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as Array<Record<string, unknown>>;
  }
  const [rows] = await db.query(sql, params);
  return rows as Array<Record<string, unknown>>;
}

/** A message key as text: `1` for `{ id: 1n }`, `null` for a table without a key. */
export function keyText(key: Record<string, unknown> | null): string {
  if (key === null) return 'null';
  return Object.values(key).map(String).join('/');
}

/** The state a consumer rebuilds from a topic: key → latest after-image; deletes remove the key. */
export function topicState(messages: ReadMessage[], topic: string): Map<string, Record<string, unknown>> {
  const state = new Map<string, Record<string, unknown>>();
  for (const m of messages) {
    if (m.topic !== topic || m.value === null) continue;
    const key = keyText(m.key);
    const after = m.value.after as Record<string, unknown> | null;
    if (after) state.set(key, after);
    else state.delete(key);
  }
  return state;
}

/** Events that appear more than once: the same source position and key, in a read_committed read. */
export function duplicates(messages: ReadMessage[], topic: string): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const m of messages) {
    if (m.topic !== topic || m.value === null) continue;
    const id = `${(m.value.source as { position: string }).position}/${keyText(m.key)}/${m.value.op as string}`;
    if (seen.has(id)) repeated.push(id);
    seen.add(id);
  }
  return repeated;
}

export async function tableState(db: Database, qualified: string): Promise<Map<string, Record<string, unknown>>> {
  const rows = await run(db, `SELECT id, val, n FROM ${qualified}`);
  // PostgreSQL test clients read every value as text.
  return new Map(rows.map((r) => [String(r.id), { id: BigInt(r.id as string), val: r.val, n: Number(r.n) }]));
}

export function differences(topic: Map<string, Record<string, unknown>>, table: Map<string, Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const [key, row] of table) {
    const seen = topic.get(key);
    if (!seen) problems.push(`missing ${key}`);
    else if (seen.val !== row.val || seen.n !== row.n) problems.push(`different ${key}`);
  }
  for (const key of topic.keys()) if (!table.has(key)) problems.push(`extra ${key}`);
  return problems;
}

export async function expectConverged(reader: TopicReader, topic: string, db: Database, qualified: string, timeoutMs = 120_000): Promise<void> {
  let last: string[] = [];
  await eventually(
    `topic ${topic} to equal ${qualified}`,
    async () => {
      reader.check();
      last = differences(topicState(reader.messages, topic), await tableState(db, qualified));
      return last.length === 0 ? true : undefined;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; ${last.length} differences, e.g. ${last.slice(0, 5).join(', ')}`);
  });
}

/** One committed change of the writer, as its event must show it: `id/op/n` (`id/d` for a delete). */
export type WrittenChange = string;

export interface Writer {
  /** Stops after the operation in flight; resolves with the number of operations done. */
  stop: () => Promise<number>;
  /**
   * From now on, remember every committed change (PostgreSQL only: it needs UPDATE … RETURNING). Call it once the
   * capture's slot exists, so every change remembered is one the stream must carry.
   */
  track: () => void;
  /** The changes committed since track(). */
  changes: WrittenChange[];
}

/** Inserts, updates and deletes at random until stopped, in single statements and small transactions. */
export function startWriter(db: Database, qualified: string, firstNewId: number): Writer {
  const postgres = db instanceof pg.Client;
  let running = true;
  let tracking = false;
  let nextId = firstNewId;
  let operations = 0;
  const changes: WrittenChange[] = [];
  const returning = (columns: string) => (postgres ? ` RETURNING ${columns}` : '');
  const loop = (async () => {
    while (running) {
      const id = 1 + Math.floor(Math.random() * (nextId - 1));
      const choice = Math.random();
      const track = tracking;
      let done: WrittenChange[] = [];
      if (choice < 0.3) {
        const newId = nextId++;
        await run(db, `INSERT INTO ${qualified} (id, val, n) VALUES (?, ?, ?)`, [newId, `new-${newId}`, 1]);
        done = [`${newId}/c/1`];
      } else if (choice < 0.8) {
        const rows = await run(db, `UPDATE ${qualified} SET val = ?, n = n + 1 WHERE id = ?${returning('id, n')}`, [`u${operations}`, id]);
        if (postgres) done = rows.map((r) => `${String(r.id)}/u/${String(r.n)}`);
      } else if (choice < 0.9) {
        const rows = await run(db, `DELETE FROM ${qualified} WHERE id = ?${returning('id')}`, [id]);
        if (postgres) done = rows.map((r) => `${String(r.id)}/d`);
      } else {
        await run(db, 'START TRANSACTION');
        try {
          const updated = await run(db, `UPDATE ${qualified} SET n = n + 10 WHERE id BETWEEN ? AND ?${returning('id, n')}`, [id, id + 20]);
          const deleted = await run(db, `DELETE FROM ${qualified} WHERE id = ?${returning('id')}`, [id + 21]);
          await run(db, 'COMMIT');
          if (postgres) done = [...updated.map((r) => `${String(r.id)}/u/${String(r.n)}`), ...deleted.map((r) => `${String(r.id)}/d`)];
        } catch (error) {
          // A test's own large UPDATE may lock the same rows in another order: the server picks one to fail.
          const code = (error as { code?: string }).code;
          if (code !== '40P01' && code !== 'ER_LOCK_DEADLOCK') throw error;
          await run(db, 'ROLLBACK');
        }
      }
      if (track) changes.push(...done);
      operations++;
      if (operations % 50 === 0) await delay(1); // let the event loop serve the capture's Kafka reads in-process
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return operations;
    },
    track: () => {
      tracking = true;
    },
    changes,
  };
}

/** The writer's changes (Writer.changes) that no event of the topic carries. */
export function missingChanges(messages: ReadMessage[], topic: string, changes: WrittenChange[]): WrittenChange[] {
  const carried = new Set<string>();
  for (const m of messages) {
    if (m.topic !== topic || m.value === null) continue;
    const op = m.value.op as string;
    const after = m.value.after as { n?: number } | null;
    carried.add(op === 'd' ? `${keyText(m.key)}/d` : `${keyText(m.key)}/${op}/${String(after?.n)}`);
  }
  return changes.filter((change) => !carried.has(change));
}

export async function fillTable(db: Database, qualified: string, rows: number): Promise<void> {
  await run(db, `CREATE TABLE ${qualified} (id BIGINT PRIMARY KEY, val VARCHAR(64) NOT NULL, n INT NOT NULL)`);
  if (db instanceof pg.Client) {
    await db.query(`INSERT INTO ${qualified} (id, val, n) SELECT g, 'v' || g, 0 FROM generate_series(1, $1::bigint) g`, [rows]);
    return;
  }
  for (let start = 1; start <= rows; start += 5_000) {
    const values = [];
    for (let id = start; id < Math.min(start + 5_000, rows + 1); id++) values.push([id, `v${id}`, 0]);
    await db.query(`INSERT INTO ${qualified} (id, val, n) VALUES ?`, [values]);
  }
}
