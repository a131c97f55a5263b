import type { SinkConfig, SourceConfig, TributaryConfig } from '#config/schema.ts';
import { configuredByName } from '#config/load.ts';
import { TributaryError, withAction } from '#core/errors.ts';
import { tableFilter } from '#core/table-filter.ts';
import { qualifiedName, type TableSchema } from '#core/table-schema.ts';
import { ClickHouseEngine } from './clickhouse-engine.ts';
import { MySqlEngine } from './mysql-engine.ts';
import { PostgresEngine } from './postgres-engine.ts';
import { NO_PROGRESS, type Progress } from './progress.ts';
import type { TableReport } from './report.ts';
import { VerifySide, type Engine } from './side.ts';
import { SqlServerEngine } from './sqlserver-engine.ts';
import { catalogColumns, planTable, selectTables, targetTableOf, type TableLocation } from './tables.ts';
import { DEFAULT_OPTIONS, checkOptions, verifyTable, type VerifyHooks, type VerifyOptions } from './verify.ts';

// `tributary verify`: opens the source and the sink's target read-only, picks the tables, and compares them one
// after another. The report is the caller's to print.

export interface RunOptions {
  source: string;
  sink: string;
  /** `db.table` names; empty: every captured table the sink consumes. */
  tables: string[];
  /** Queries in flight per server. */
  parallel: number;
  verify: Partial<VerifyOptions>;
  progress?: Progress;
  /** Test hooks, called for every table. */
  hooks?: VerifyHooks;
}

type SourceEngine = MySqlEngine | PostgresEngine;

export async function runVerify(config: TributaryConfig, options: RunOptions): Promise<TableReport[]> {
  const sourceConfig = configuredByName(config.sources, 'source', options.source);
  const sinkConfig = configuredByName(config.sinks, 'sink', options.sink);
  const verifyOptions: VerifyOptions = { ...DEFAULT_OPTIONS, parallelRanges: options.parallel * 2, ...options.verify };
  checkOptions(verifyOptions);
  const progress = options.progress ?? NO_PROGRESS;
  // Checked before connecting: a lake sink has nothing to compare.
  targetTableOf(sinkConfig, { table: '' });

  const source = openSource(sourceConfig, options.parallel);
  const target = openTarget(sinkConfig, options.parallel);
  try {
    const captured = await source.readTables(tableFilter(sourceConfig.include, sourceConfig.exclude));
    const tables = selectTables(captured, options.tables, sinkConfig, config.kafka.topicPrefix);
    const reports: TableReport[] = [];
    for (const table of tables) {
      const location = targetTableOf(sinkConfig, table);
      const started = Date.now();
      try {
        reports.push(await verifyOne(table, location, { source, target, sourceConfig, sinkConfig, options: verifyOptions, progress, hooks: options.hooks ?? {}, started }));
      } finally {
        progress.done();
      }
    }
    return reports;
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
}

interface Context {
  source: SourceEngine;
  target: Engine;
  sourceConfig: SourceConfig;
  sinkConfig: SinkConfig;
  options: VerifyOptions;
  progress: Progress;
  hooks: VerifyHooks;
  started: number;
}

async function verifyOne(table: TableSchema, location: TableLocation, context: Context): Promise<TableReport> {
  const { source, target } = context;
  const name = qualifiedName(table);
  const targetName = `${location.namespace}.${location.table}`;
  const action = `verifying ${name} against ${targetName} of sink "${context.sinkConfig.name}"`;
  const key = table.primaryKey.map((column) => ({ name: column, type: table.columns.find((c) => c.name === column)?.type ?? { kind: 'string' as const } }));
  const report = (fields: Partial<TableReport>): TableReport => ({
    source: name,
    target: targetName,
    key,
    notes: [],
    seconds: (Date.now() - context.started) / 1000,
    ...fields,
  });
  try {
    const [sourceCatalog, targetCatalog, estimate] = await Promise.all([
      source.run(source.dialect.columns(table.namespace, table.table), `reading the columns of ${name} on ${source.label}`),
      target.run(target.dialect.columns(location.namespace, location.table), `reading the columns of ${targetName} on ${target.label}`),
      source.estimateRows(table.namespace, table.table),
    ]);
    const plan = planTable({
      table,
      columnPolicy: context.sourceConfig.columns,
      source: { location: { namespace: table.namespace, table: table.table }, catalog: catalogColumns(sourceCatalog, table.table), dialect: source.dialect },
      target: { location, catalog: catalogColumns(targetCatalog, location.table), dialect: target.dialect, clickHouse: context.sinkConfig.type === 'clickhouse' },
    });
    if (!plan.ok) return report({ problem: `not compared: ${plan.problem}`, notes: plan.notes });
    const parallel = Math.max(1, Math.ceil(context.options.parallelRanges / 2));
    context.progress.table(name, estimate);
    const counts = await verifyTable(new VerifySide(source, plan.source, parallel), new VerifySide(target, plan.target, parallel), context.options, {
      onRows: (rows) => {
        context.progress.rows(rows);
        context.hooks.onRows?.(rows);
      },
      onRecheck: (ranges) => {
        context.progress.recheck(ranges, context.options.recheckMs / 1000);
        context.hooks.onRecheck?.(ranges);
      },
    });
    return report({ counts, notes: plan.notes });
  } catch (error) {
    // A table that cannot be read (dropped meanwhile, no privilege) is reported and the others still compared; an
    // error that is not a classified one (a bug, an interrupt) ends the command.
    if (!(error instanceof TributaryError) || error.code === 'INTERNAL') throw withAction(action, error);
    return report({ problem: `could not be compared: ${error.message}` });
  }
}

function openSource(config: SourceConfig, connections: number): SourceEngine {
  const label = `${config.type} source "${config.name}"`;
  return config.type === 'postgres'
    ? new PostgresEngine(label, config.connection, connections)
    : new MySqlEngine(label, config.connection, 'source', connections);
}

function openTarget(config: SinkConfig, connections: number): Engine {
  const label = `${config.type} sink "${config.name}"`;
  switch (config.type) {
    case 'mysql':
    case 'mariadb':
      return new MySqlEngine(label, config.connection, 'target', connections);
    case 'clickhouse':
      return new ClickHouseEngine(label, config.connection, connections);
    case 'sqlserver':
      return new SqlServerEngine(label, config.connection, connections);
    case 'lake':
      throw new Error('unreachable: targetTableOf refuses lake sinks');
  }
}
