import type mysql from 'mysql2/promise';
import { setTimeout as delay } from 'node:timers/promises';
import type { ReadMessage, TopicReader } from '#test/support/topic-reader.ts';
import { eventually } from '#test/support/wait.ts';

// What a user of a capture relies on: replaying a table's topic (read_committed) gives back the table, and no
// source change appears twice.

/** The state a consumer rebuilds from a topic: key → latest after-image; deletes remove the key. */
export function topicState(messages: ReadMessage[], topic: string): Map<string, Record<string, unknown>> {
  const state = new Map<string, Record<string, unknown>>();
  for (const m of messages) {
    if (m.topic !== topic || m.value === null) continue;
    const key = String((m.key as { id: bigint }).id);
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
    const id = `${(m.value.source as { position: string }).position}/${String((m.key as { id: bigint }).id)}/${m.value.op as string}`;
    if (seen.has(id)) repeated.push(id);
    seen.add(id);
  }
  return repeated;
}

export async function tableState(connection: mysql.Connection, qualified: string): Promise<Map<string, Record<string, unknown>>> {
  const [rows] = await connection.query(`SELECT id, val, n FROM ${qualified}`);
  return new Map((rows as Array<{ id: string; val: string; n: number }>).map((r) => [String(r.id), { id: BigInt(r.id), val: r.val, n: r.n }]));
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

export async function expectConverged(reader: TopicReader, topic: string, connection: mysql.Connection, qualified: string, timeoutMs = 120_000): Promise<void> {
  let last: string[] = [];
  await eventually(
    `topic ${topic} to equal ${qualified}`,
    async () => {
      reader.check();
      last = differences(topicState(reader.messages, topic), await tableState(connection, qualified));
      return last.length === 0 ? true : undefined;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; ${last.length} differences, e.g. ${last.slice(0, 5).join(', ')}`);
  });
}

/** Inserts, updates and deletes at random until stopped, in single statements and small transactions. */
export function startWriter(connection: mysql.Connection, qualified: string, firstNewId: number): { stop: () => Promise<number> } {
  let running = true;
  let nextId = firstNewId;
  let operations = 0;
  const loop = (async () => {
    while (running) {
      const id = 1 + Math.floor(Math.random() * (nextId - 1));
      const choice = Math.random();
      if (choice < 0.3) {
        await connection.query(`INSERT INTO ${qualified} (id, val, n) VALUES (?, ?, ?)`, [nextId++, `new-${nextId}`, 1]);
      } else if (choice < 0.8) {
        await connection.query(`UPDATE ${qualified} SET val = CONCAT('u', ?), n = n + 1 WHERE id = ?`, [operations, id]);
      } else if (choice < 0.9) {
        await connection.query(`DELETE FROM ${qualified} WHERE id = ?`, [id]);
      } else {
        await connection.query('START TRANSACTION');
        await connection.query(`UPDATE ${qualified} SET n = n + 10 WHERE id BETWEEN ? AND ?`, [id, id + 20]);
        await connection.query(`DELETE FROM ${qualified} WHERE id = ?`, [id + 21]);
        await connection.query('COMMIT');
      }
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
  };
}

export async function fillTable(connection: mysql.Connection, qualified: string, rows: number): Promise<void> {
  await connection.query(`CREATE TABLE ${qualified} (id BIGINT PRIMARY KEY, val VARCHAR(64) NOT NULL, n INT NOT NULL)`);
  for (let start = 1; start <= rows; start += 5_000) {
    const values = [];
    for (let id = start; id < Math.min(start + 5_000, rows + 1); id++) values.push([id, `v${id}`, 0]);
    await connection.query(`INSERT INTO ${qualified} (id, val, n) VALUES ?`, [values]);
  }
}
