// bench/sink-clickhouse: the sink's drain rate from Kafka into ClickHouse beside the same inserts run from memory.
// Row counts are read with FINAL, as a user reads the table. Run: npx tsx bench/sink-clickhouse.ts [events] [keys] [batch rows]
import { clickHouseTarget } from '#test/sink/targets.ts';
import { runSinkBench } from './sink-bench.ts';

await runSinkBench(clickHouseTarget());
