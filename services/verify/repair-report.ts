import { stringifyExact } from '#core/json.ts';
import { MAX_SIGNAL_KEYS } from '#kafka/signals.ts';
import type { RepairResult } from './repair.ts';
import { allMatch, formatText, jsonTables, tableStatus, type TableReport } from './report.ts';

// What `tributary verify --repair` prints after the first pass's report and the repair's own lines: the tables
// verified again, what the repair did, and the result over every table; or, with --json, one document for all.

/** Why a table is repaired whole or not at all, in the words of the repair's lines, notes and summary. */
export const TOO_MANY_KEYS = `too many differing keys to repair by key (one signal carries ${MAX_SIGNAL_KEYS.toLocaleString('en-US')})`;

export function formatRepairText(result: RepairResult): string {
  const parts: string[] = [];
  if (result.final.length > 0) parts.push(`after the repair:\n\n${formatText(result.final)}`);
  const lines = [`repair: ${result.message}`];
  // Rows extra in a table repaired by key were deleted (what remains shows above); a whole-table re-snapshot deletes none.
  const unremovable = [...result.plan.whole, ...result.plan.extraOnly];
  const extra = result.tables.filter((report) => unremovable.includes(report.source) && (report.counts?.extra ?? 0) > 0);
  if (extra.length > 0) {
    const list = extra.map((report) => `${report.source} (${(report.counts?.extra ?? 0).toLocaleString('en-US')})`).join(', ');
    lines.push(
      `repair: rows extra in the target remain in ${list}: ${TOO_MANY_KEYS}, and a whole-table re-snapshot re-emits ` +
        "the source's rows and deletes nothing; delete them in the target by hand",
    );
  }
  lines.push(`result: ${summary(result.tables)}`);
  parts.push(lines.join('\n'));
  return parts.join('\n\n');
}

/**
 * `{ match, tables (each table's latest report), firstPass, repair: { outcome, message, signal, … } }`; the keys the
 * signal carried are counted, not listed.
 */
export function formatRepairJson(first: readonly TableReport[], result: RepairResult): string {
  return stringifyExact({
    match: allMatch(result.tables),
    tables: jsonTables(result.tables),
    firstPass: { match: allMatch(first), tables: jsonTables(first) },
    repair: {
      outcome: result.outcome,
      message: result.message,
      signal: result.signal,
      byKeys: result.plan.byKeys,
      whole: result.plan.whole,
      extraOnly: result.plan.extraOnly,
      notVerified: result.plan.notVerified,
      snapshot: result.snapshot,
      verifiedAgain: result.final.map((report) => report.source),
      seconds: Number(result.seconds.toFixed(3)),
    },
  });
}

function summary(reports: readonly TableReport[]): string {
  const tally = (status: ReturnType<typeof tableStatus>) => reports.filter((r) => tableStatus(r) === status).length;
  const tables = `${reports.length} ${reports.length === 1 ? 'table' : 'tables'}`;
  return `${tables}: ${tally('match')} match, ${tally('differs')} differ, ${tally('not verified')} not verified`;
}
