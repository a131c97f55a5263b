// bench/sink-mysql: the sink's drain rate from Kafka into MariaDB beside the same upserts run from memory.
// Run: npx tsx bench/sink-mysql.ts [events] [keys] [batch rows]
import { mariaDbTarget } from '#test/sink/targets.ts';
import { runSinkBench } from './sink-bench.ts';

await runSinkBench(mariaDbTarget());
