import { setTimeout as delay } from 'node:timers/promises';
import type { KeyRange } from '#core/checksum.ts';
import { TributaryError } from '#core/errors.ts';
import { comparePaths, compareKeys, cutRange, decide, diffRows, keyId, stillDiffering, type Category, type KeyDiff, type RangeLimits } from './ranges.ts';
import type { RangeReader } from './side.ts';

// The verify algorithm over two sides of one table. Pass 1 walks the source's key index in chunks and has both
// servers sum each chunk (count and hash sum, computed where the rows are); a chunk that differs is cut along the
// keys of its larger side until its parts are small enough to list key by key, and the keys that differ are kept.
// Then the ranges that differed are looked at again, at growing intervals until the re-check window closes: a
// difference the sink was still applying goes away, and only keys that differed every time are reported.
//
// Memory holds a bounded number of ranges in flight, at most `leafRows` rows per side per listing, and the
// differing keys up to `maxKeptKeys` per table (and up to `repairKeys` for a repair); never a table.

export interface VerifyOptions {
  /** Example keys reported per category. */
  examples: number;
  /** How long the ranges that differ are re-checked before what still differs is reported; 0 for no re-check. */
  recheckMs: number;
  /** Rows of the source per top-level range. */
  chunkRows: number;
  limits: RangeLimits;
  /** Differing keys kept between looks per table; past it a range's last look stands alone. */
  maxKeptKeys: number;
  /** Top-level ranges examined at once. */
  parallelRanges: number;
  /**
   * Collect every key that still differs (TableCounts.differingKeys), for `--repair` to re-emit key by key, as long as
   * the table has at most this many; 0 collects none.
   */
  repairKeys: number;
  signal?: AbortSignal;
}

export const DEFAULT_OPTIONS: VerifyOptions = {
  examples: 10,
  recheckMs: 5_000,
  chunkRows: 100_000,
  limits: { leafRows: 1_000, fanout: 16 },
  maxKeptKeys: 100_000,
  parallelRanges: 8,
  repairKeys: 0,
};

export interface VerifyHooks {
  /** Rows compared so far in pass 1 (for progress). */
  onRows?(rows: number): void;
  /** Pass 1 is done; `ranges` differ and are re-checked now (none: nothing to re-check). */
  onRecheck?(ranges: number): void;
}

export interface TableCounts {
  /** Rows each side held in pass 1 (a moving target while changes flow). */
  sourceRows: number;
  targetRows: number;
  /** Distinct keys compared: every key of either side. */
  compared: number;
  missing: number;
  extra: number;
  different: number;
  /** Up to `examples` keys per category, in key order, each as its canonical key values. */
  examples: Record<Category, string[][]>;
  /**
   * With `repairKeys` > 0: every key that still differs (missing, extra or different), in key order; null when the
   * table has more than `repairKeys` of them. Absent when not collected. Never part of a report.
   */
  differingKeys?: string[][] | null;
}

/** A range that differs, as one look found it. */
interface Finding {
  range: KeyRange;
  path: number[];
  /** Keys of the range on either side. */
  compared: number;
  /** Listed range: every differing key. One-sided range: example keys only. */
  diffs: KeyDiff[];
  oneSided?: { category: 'missing' | 'extra'; rows: number };
}

interface Outcome {
  sourceRows: number;
  targetRows: number;
  /** Keys in ranges that matched. */
  matched: number;
  findings: Finding[];
}

// A range still cut this deep (keys changing under the cuts) is listed as it is; by then it holds a handful of rows.
const MAX_DEPTH = 12;

export async function verifyTable(source: RangeReader, target: RangeReader, options: VerifyOptions, hooks: VerifyHooks = {}): Promise<TableCounts> {
  const check = new Examiner(source, target, options);
  const first = await check.firstPass(hooks);
  hooks.onRecheck?.(first.findings.length);
  const watched = await check.recheck(first.findings);
  const findings = latestFindings(watched);
  const counts = summarize(first, watched, findings, options.examples);
  if (options.repairKeys > 0) counts.differingKeys = await check.differingKeys(findings, counts);
  return counts;
}

/** A range that differed, followed through the re-checks: its latest look, cut down to keys that always differed. */
interface Watch {
  range: KeyRange;
  path: number[];
  latest: Outcome;
  /** Ids of the keys that differed in every look so far, or null when they were not kept. */
  kept: Set<string> | null;
}

class Examiner {
  constructor(
    private readonly source: RangeReader,
    private readonly target: RangeReader,
    private readonly options: VerifyOptions,
  ) {}

  /** Pass 1: the whole table, in chunks of `chunkRows` source rows cut along the source's key index. */
  async firstPass(hooks: VerifyHooks): Promise<Outcome> {
    const total: Outcome = { sourceRows: 0, targetRows: 0, matched: 0, findings: [] };
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let rows = 0;
    let after: string[] | null = null;
    for (let index = 0; !failure; index++) {
      this.options.signal?.throwIfAborted();
      // The chunk ends at the key chunkRows - 1 rows on, or is the last one, open-ended so that target keys past the
      // source's last key fall into it (as keys before its first fall into the first).
      const upTo: string[] | null = await this.source.keyAt({ after, upTo: null }, this.options.chunkRows - 1);
      const work = this.examine({ after, upTo }, [index], 0).then(
        (outcome) => {
          merge(total, outcome);
          rows += outcome.matched + outcome.findings.reduce((sum, f) => sum + f.compared, 0);
          hooks.onRows?.(rows);
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
      if (inFlight.size >= this.options.parallelRanges) await Promise.race(inFlight);
      if (upTo === null) break;
      after = upTo;
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    return total;
  }

  /** Looks again at each range that differed, at growing intervals, until none differs or the window closes. */
  async recheck(findings: Finding[]): Promise<Watch[]> {
    let keptKeys = 0;
    const watches: Watch[] = findings.map((finding) => {
      const ids = keepable(finding) ? finding.diffs.map((diff) => keyId(diff.key)) : null;
      const kept = ids !== null && keptKeys + ids.length <= this.options.maxKeptKeys ? new Set(ids) : null;
      if (kept) keptKeys += kept.size;
      return { range: finding.range, path: finding.path, latest: { sourceRows: 0, targetRows: 0, matched: 0, findings: [finding] }, kept };
    });
    const deadline = Date.now() + this.options.recheckMs;
    let open = watches.filter((watch) => watch.latest.findings.length > 0);
    for (let pause = 200; open.length > 0 && Date.now() < deadline; pause = Math.min(pause * 2, 2_000)) {
      await delay(Math.min(pause, Math.max(0, deadline - Date.now())), undefined, this.options.signal ? { signal: this.options.signal } : {});
      // Ranges are re-checked a few at a time; each look goes as deep as it needs, as in pass 1.
      for (let start = 0; start < open.length; start += this.options.parallelRanges) {
        await Promise.all(open.slice(start, start + this.options.parallelRanges).map((watch) => this.look(watch)));
      }
      open = open.filter((watch) => watch.latest.findings.length > 0);
    }
    return watches;
  }

  /** One more look at a watched range: what differs now and differed every time before. */
  private async look(watch: Watch): Promise<void> {
    const now = await this.examine(watch.range, watch.path, 0);
    const findings: Finding[] = [];
    let matched = now.matched;
    for (const finding of now.findings) {
      if (finding.oneSided) {
        findings.push(finding);
        continue;
      }
      const diffs = stillDiffering(watch.kept, finding.diffs);
      if (diffs.length > 0) findings.push({ ...finding, diffs });
      else matched += finding.compared;
    }
    watch.latest = { ...now, matched, findings };
    // Keys are kept for the next look only when every finding listed them (a one-sided range lists examples only).
    watch.kept = findings.every(keepable) ? new Set(findings.flatMap((f) => f.diffs.map((diff) => keyId(diff.key)))) : null;
  }

  /**
   * Every key of the findings, when they hold at most `repairKeys`: a listed range has each of them already, a range
   * one side has no row in only examples, so its keys are read from the side that has the rows.
   */
  async differingKeys(findings: readonly Finding[], counts: TableCounts): Promise<string[][] | null> {
    if (counts.missing + counts.extra + counts.different > this.options.repairKeys) return null;
    const keys = new Map<string, string[]>();
    for (const finding of findings) {
      this.options.signal?.throwIfAborted();
      const { oneSided } = finding;
      const all =
        oneSided && finding.diffs.length < oneSided.rows
          ? await this.sideWith(oneSided.category).firstKeys(finding.range, oneSided.rows)
          : finding.diffs.map((diff) => diff.key);
      for (const key of all) keys.set(keyId(key), key);
    }
    return [...keys.values()].sort(compareKeys);
  }

  /** The side that holds the rows of a range the other side has none of. */
  private sideWith(category: 'missing' | 'extra'): RangeReader {
    return category === 'missing' ? this.source : this.target;
  }

  /** Sums a range on both sides and, where they differ, goes down to the keys. */
  private async examine(range: KeyRange, path: number[], depth: number): Promise<Outcome> {
    this.options.signal?.throwIfAborted();
    const [source, target] = await Promise.all([this.source.summary(range), this.target.summary(range)]);
    let decision = decide(source, target, this.options.limits);
    if (depth >= MAX_DEPTH && decision.action === 'split') decision = { action: 'list' };
    const base = { sourceRows: source.rows, targetRows: target.rows };
    switch (decision.action) {
      case 'match':
        return { ...base, matched: source.rows, findings: [] };
      case 'list':
        return { ...base, ...(await this.list(range, path)) };
      case 'one-sided': {
        const keys = await this.sideWith(decision.category).firstKeys(range, this.options.examples);
        const finding: Finding = {
          range,
          path,
          compared: decision.rows,
          diffs: keys.map((key) => ({ key, category: decision.category })),
          oneSided: { category: decision.category, rows: decision.rows },
        };
        return { ...base, matched: 0, findings: [finding] };
      }
      case 'split': {
        const cuts = await this.cuts(decision.by === 'source' ? this.source : this.target, range, decision.step);
        // No cut: the rows went away while we looked; what is left is small enough to list.
        if (cuts.length === 0) return { ...base, ...(await this.list(range, path)) };
        const parts = await Promise.all(cutRange(range, cuts).map((part, i) => this.examine(part, [...path, i], depth + 1)));
        const outcome: Outcome = { ...base, matched: 0, findings: [] };
        for (const part of parts) {
          outcome.matched += part.matched;
          outcome.findings.push(...part.findings);
        }
        return outcome;
      }
    }
  }

  /** Lists (key, hash) of a small range on both sides; the listing alone decides (the summaries may be older). */
  private async list(range: KeyRange, path: number[]): Promise<Pick<Outcome, 'matched' | 'findings'>> {
    const [source, target] = await Promise.all([this.source.rowHashes(range), this.target.rowHashes(range)]);
    const { keys, diffs } = diffRows(source, target);
    if (diffs.length === 0) return { matched: keys, findings: [] };
    return { matched: 0, findings: [{ range, path, compared: keys, diffs }] };
  }

  /** Keys of `side` every `step` rows into the range: at most fanout - 1 of them, in key order. */
  private async cuts(side: RangeReader, range: KeyRange, step: number): Promise<string[][]> {
    const cuts: string[][] = [];
    let after = range.after;
    while (cuts.length < this.options.limits.fanout - 1) {
      const key = await side.keyAt({ after, upTo: range.upTo }, step - 1);
      if (key === null) break;
      // The last row of the range is no cut: the part after it would be empty.
      if (range.upTo !== null && keyId(key) === keyId(range.upTo)) break;
      cuts.push(key);
      after = key;
    }
    return cuts;
  }
}

function keepable(finding: Finding): boolean {
  return finding.oneSided === undefined;
}

function merge(total: Outcome, part: Outcome): void {
  total.sourceRows += part.sourceRows;
  total.targetRows += part.targetRows;
  total.matched += part.matched;
  total.findings.push(...part.findings);
}

/** What the last look at every range that differed found, in the order of the table. */
function latestFindings(watches: readonly Watch[]): Finding[] {
  return watches.flatMap((watch) => watch.latest.findings).sort((a, b) => comparePaths(a.path, b.path));
}

/** The counts of a table from pass 1 and the last look at every range that differed (`findings`: latestFindings). */
function summarize(first: Outcome, watches: readonly Watch[], findings: readonly Finding[], examples: number): TableCounts {
  const counts: TableCounts = {
    sourceRows: first.sourceRows,
    targetRows: first.targetRows,
    compared: first.matched,
    missing: 0,
    extra: 0,
    different: 0,
    examples: { missing: [], extra: [], different: [] },
  };
  for (const watch of watches) counts.compared += watch.latest.matched;
  for (const finding of findings) {
    counts.compared += finding.compared;
    if (finding.oneSided) counts[finding.oneSided.category] += finding.oneSided.rows;
    else for (const diff of finding.diffs) counts[diff.category]++;
    for (const diff of [...finding.diffs].sort((a, b) => compareKeys(a.key, b.key))) {
      const list = counts.examples[diff.category];
      if (list.length < examples) list.push(diff.key);
    }
  }
  return counts;
}

/** Whether a table's counts say that target and source hold the same rows. */
export function matches(counts: TableCounts): boolean {
  return counts.missing === 0 && counts.extra === 0 && counts.different === 0;
}

export function checkOptions(options: VerifyOptions): void {
  const positive = (value: number, what: string) => {
    if (!Number.isSafeInteger(value) || value < 1) throw new TributaryError('CONFIG_INVALID', `${what} must be a positive integer, got ${value}`);
  };
  positive(options.chunkRows, 'the chunk size');
  positive(options.limits.leafRows, 'the listing size');
  positive(options.parallelRanges, 'the number of ranges examined at once');
  if (options.limits.fanout < 2) throw new TributaryError('CONFIG_INVALID', `ranges must be cut into 2 parts at least, got ${options.limits.fanout}`);
  if (!Number.isSafeInteger(options.examples) || options.examples < 0) throw new TributaryError('CONFIG_INVALID', `--examples must be 0 or more, got ${options.examples}`);
  if (!Number.isSafeInteger(options.repairKeys) || options.repairKeys < 0) throw new TributaryError('CONFIG_INVALID', `the keys collected for a repair must be 0 or more, got ${options.repairKeys}`);
  if (!(options.recheckMs >= 0)) throw new TributaryError('CONFIG_INVALID', `the re-check window must be 0 or more seconds, got ${options.recheckMs / 1000}`);
}
