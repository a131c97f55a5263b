// Baselines and measurements shared by the capture benchmarks (bench/capture-mysql.ts, bench/capture-postgres.ts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { ensureTopics } from '#kafka/admin.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';

/** Average key and value bytes of the first `count` messages of `topic`. */
async function messageSizes(kafka: Kafka, topic: string, count: number): Promise<{ key: number; value: number }> {
  const consumer = kafka.consumer({ groupId: uniqueName('bench-sizes'), readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let keys = 0;
  let values = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (seen >= count) return;
        seen++;
        keys += message.key?.length ?? 0;
        values += message.value?.length ?? 0;
        if (seen === count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return { key: Math.round(keys / seen), value: Math.round(values / seen) };
}

/**
 * The capture's transactional producer on its own, in this process: `count` pre-encoded messages of the given
 * sizes, sent as the capture sends (at most 5,000 messages or 900 KiB at once) and committed as often (every 100 ms).
 */
async function bareProducer(kafka: Kafka, topic: string, count: number, sizes: { key: number; value: number }): Promise<number> {
  await ensureTopics(kafka, [{ topic, partitions: 1, replicationFactor: 1 }]);
  const producer = await TransactionalProducer.connect(kafka, `${topic}-bare`);
  const value = Buffer.alloc(sizes.value, 7);
  const perSend = Math.min(5_000, Math.floor((900 * 1024) / (sizes.key + sizes.value + 64)));
  const started = Date.now();
  let transaction = await producer.begin();
  let transactionStarted = Date.now();
  for (let sent = 0; sent < count; sent += perSend) {
    const messages: Message[] = [];
    const timestamp = String(Date.now());
    for (let i = sent; i < Math.min(count, sent + perSend); i++) {
      messages.push({ key: Buffer.from(String(i).padStart(sizes.key, '0').slice(-sizes.key)), value, timestamp });
    }
    await transaction.send([{ topic, messages }]);
    if (Date.now() - transactionStarted >= 100) {
      await transaction.commit();
      transaction = await producer.begin();
      transactionStarted = Date.now();
    }
  }
  await transaction.commit();
  const elapsed = Date.now() - started;
  await producer.close();
  return elapsed;
}

/**
 * The capture runs as deployed: the bundle of `npm run build` (what the image runs), not the sources through tsx,
 * whose loader costs memory and, in about half the runs, throughput (bench/capture-postgres measured both: 0.73 and
 * 180 MB against 0.56 to 0.59 and 300 to 316 MB). `--tsx` measures the sources instead; TRIBUTARY_BIN names any build.
 */
export function useDeployedBuild(): void {
  if (process.env.TRIBUTARY_BIN) return;
  if (process.argv.includes('--tsx')) {
    process.stdout.write('capture runs from the sources through tsx (--tsx)\n');
    return;
  }
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'ignore', 'inherit'] });
  process.env.TRIBUTARY_BIN = new URL('../dist/tributary.js', import.meta.url).pathname;
  process.stdout.write('capture runs from the bundle of npm run build (dist/tributary.js), as the image does\n');
}

export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

let ticksPerSecond: number | undefined;

/**
 * CPU seconds (user and system, every thread) a running process has used so far: what a row costs a core, which the
 * rates do not tell when the capture shares the machine's two cores with the servers it reads and writes.
 */
export function cpuSeconds(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  // After the command name in parentheses (which may hold spaces): state, then 10 fields, then utime and stime.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** The line the capture benches print about `seconds` of CPU for `rows` rows. */
export function cpuLine(seconds: number, rows: number): string {
  return `capture CPU: ${seconds.toFixed(2)} s (user and system, all threads, start included), ${Math.round(rows / seconds)} rows per CPU-second`;
}

/**
 * The bare producer baseline for a capture that wrote `count` messages to `captured`: the same number of messages of
 * the same average sizes, sent to `bareTopic`. Prints it and returns its messages/s.
 */
export async function producerBaseline(kafka: Kafka, captured: string, bareTopic: string, count: number): Promise<number> {
  const sizes = await messageSizes(kafka, captured, Math.min(count, 2_000));
  // Quiet: kafkajs logs every AddPartitionsToTxn retried right after a commit as an error; here that is expected.
  const quiet = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
  const producerMs = await bareProducer(quiet, bareTopic, count, sizes);
  const producerRate = (count * 1000) / producerMs;
  console.log(
    `bare kafkajs producer: ${(producerMs / 1000).toFixed(2)} s, ${Math.round(producerRate)} messages/s (key ${sizes.key} B, value ${sizes.value} B)`,
  );
  return producerRate;
}
