import { clockText, isoDate, isoDateTime } from '#core/calendar.ts';
import type { ColumnType } from '#core/column-type.ts';
import { stringifyExact } from '#core/json.ts';
import type { Category } from './ranges.ts';
import { matches, type TableCounts } from './verify.ts';

// What `tributary verify` prints: one block per table, then a summary line; or, with --json, one JSON document.
// Keys are shown as their columns' values, not the canonical forms they travel in (days, microseconds, hex).

export interface TableReport {
  /** `db.table` in the source and in the target. */
  source: string;
  target: string;
  /** The key columns, to show example keys by. */
  key: ReadonlyArray<{ name: string; type: ColumnType }>;
  counts?: TableCounts;
  /** Why the table could not be compared. */
  problem?: string;
  notes: string[];
  seconds: number;
}

export type TableStatus = 'match' | 'differs' | 'not verified';

export function tableStatus(report: TableReport): TableStatus {
  if (!report.counts) return 'not verified';
  return matches(report.counts) ? 'match' : 'differs';
}

/** Exit code 0 only when every table was compared and matches. */
export function allMatch(reports: readonly TableReport[]): boolean {
  return reports.every((report) => tableStatus(report) === 'match');
}

const LABELS: Record<Category, string> = { missing: 'missing in the target', extra: 'extra in the target', different: 'different' };

export function formatText(reports: readonly TableReport[]): string {
  const blocks = reports.map((report) => {
    const status = tableStatus(report);
    const head = `${report.source} → ${report.target}: ${status === 'match' ? 'match' : status.toUpperCase()}`;
    const lines = [head];
    if (report.problem) lines.push(`  ${report.problem}`);
    const counts = report.counts;
    if (counts) {
      lines.push(
        `  rows: ${number(counts.sourceRows)} in the source, ${number(counts.targetRows)} in the target, ` +
          `${number(counts.compared)} compared in ${report.seconds.toFixed(1)} s`,
      );
      for (const category of ['missing', 'extra', 'different'] as const) {
        if (counts[category] === 0) continue;
        const examples = counts.examples[category].map((key) => showKey(report.key, key));
        const more = counts[category] > examples.length ? ', …' : '';
        lines.push(`  ${LABELS[category]}: ${number(counts[category])}${examples.length > 0 ? `  e.g. ${examples.join(', ')}${more}` : ''}`);
      }
    }
    for (const note of report.notes) lines.push(`  note: ${note}`);
    return lines.join('\n');
  });
  const tally = (status: TableStatus) => reports.filter((r) => tableStatus(r) === status).length;
  const summary =
    reports.length === 0
      ? 'no table to verify: the sink consumes none of the source\'s captured tables'
      : `${reports.length} ${reports.length === 1 ? 'table' : 'tables'}: ${tally('match')} match, ${tally('differs')} differ, ${tally('not verified')} not verified`;
  return [...blocks, summary].join('\n\n');
}

/** One JSON document: each table with its status, counts and example keys (as objects of column → value). */
export function formatJson(reports: readonly TableReport[]): string {
  return stringifyExact({ match: allMatch(reports), tables: jsonTables(reports) });
}

/** The tables of the JSON document, each as an object (`--repair` nests them in its own document). */
export function jsonTables(reports: readonly TableReport[]): object[] {
  return reports.map((report) => {
    const counts = report.counts;
    return {
      source: report.source,
      target: report.target,
      status: tableStatus(report),
      ...(report.problem ? { problem: report.problem } : {}),
      ...(counts
        ? {
            sourceRows: counts.sourceRows,
            targetRows: counts.targetRows,
            compared: counts.compared,
            missing: counts.missing,
            extra: counts.extra,
            different: counts.different,
            examples: Object.fromEntries(
              (['missing', 'extra', 'different'] as const).map((category) => [
                category,
                counts.examples[category].map((key) => Object.fromEntries(report.key.map((column, i) => [column.name, keyValue(column.type, key[i] as string)]))),
              ]),
            ),
          }
        : {}),
      notes: report.notes,
      seconds: Number(report.seconds.toFixed(3)),
    };
  });
}

/** `id=42`, or `(a=1, b="x")` for a composite key. */
export function showKey(columns: TableReport['key'], key: readonly string[]): string {
  const parts = columns.map((column, i) => `${column.name}=${shown(column.type, key[i] as string)}`);
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(', ')})`;
}

/** Text keys in quotes, so that `"42"` and 42 and trailing spaces can be told apart. */
function shown(type: ColumnType, value: string): string {
  return TEXT_KINDS.has(type.kind) ? JSON.stringify(value) : keyValue(type, value);
}

const TEXT_KINDS = new Set<ColumnType['kind']>(['string', 'enum', 'set', 'uuid']);

/** A canonical key value as the column shows it: dates and times as ISO text, bytes as 0x…, the rest as it is. */
export function keyValue(type: ColumnType, value: string): string {
  try {
    switch (type.kind) {
      case 'date':
        return isoDate(Number(value));
      case 'time': {
        const micros = BigInt(value);
        return micros < 0n ? `-${clockText(-micros)}` : clockText(micros);
      }
      case 'timestamp':
        return isoDateTime(BigInt(value), ' ');
      case 'timestamptz':
        return `${isoDateTime(BigInt(value), 'T')}Z`;
      case 'bytes':
        return `0x${value}`;
      default:
        return value;
    }
  } catch {
    return value;
  }
}

function number(n: number): string {
  return n.toLocaleString('en-US');
}
