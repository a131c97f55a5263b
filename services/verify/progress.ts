// Progress of `tributary verify` on stderr (stdout carries the report): a bar redrawn in place on a terminal, plain
// lines every few seconds otherwise (CI logs, pipes), so that a long table shows it is moving.

export interface Progress {
  /** A table starts; `estimatedRows` is the source's estimate, 0 when unknown. */
  table(name: string, estimatedRows: number): void;
  rows(compared: number): void;
  recheck(ranges: number, seconds: number): void;
  /** The table is done: the bar is cleared, so that the report starts on a clean line. */
  done(): void;
}

const BAR = 24;

export function createProgress(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress {
  let name = '';
  let estimate = 0;
  let started = 0;
  let drawn = 0;
  let compared = 0;
  const tty = stream.isTTY === true;
  const rate = () => Math.round(compared / Math.max(0.001, (now() - started) / 1000));
  const draw = (force: boolean) => {
    const at = now();
    if (!force && at - drawn < (tty ? 100 : 10_000)) return;
    drawn = at;
    if (!tty) {
      stream.write(`${name}: ${compared.toLocaleString('en-US')} rows compared (${rate().toLocaleString('en-US')} rows/s)\n`);
      return;
    }
    const share = estimate > 0 ? Math.min(1, compared / estimate) : 0;
    const filled = Math.round(share * BAR);
    const bar = estimate > 0 ? `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ` : '';
    stream.write(`\r\x1b[K${name}  ${bar}${compared.toLocaleString('en-US')} rows  ${rate().toLocaleString('en-US')} rows/s`);
  };
  return {
    table(table, estimatedRows) {
      name = table;
      estimate = estimatedRows;
      started = now();
      compared = 0;
      drawn = tty ? 0 : started;
      if (tty) draw(true);
      else stream.write(`verifying ${name}${estimate > 0 ? ` (about ${estimate.toLocaleString('en-US')} rows)` : ''}\n`);
    },
    rows(n) {
      compared = n;
      draw(false);
    },
    recheck(ranges, seconds) {
      if (ranges === 0) return;
      const text = `${name}: ${ranges} ${ranges === 1 ? 'range differs' : 'ranges differ'}; re-checking for up to ${seconds} s`;
      stream.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
    },
    done() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

/** For tests and --quiet runs: no output. */
export const NO_PROGRESS: Progress = { table: () => undefined, rows: () => undefined, recheck: () => undefined, done: () => undefined };

/**
 * One line of state for a wait (`--repair`: the sink applying what the snapshot emitted), on stderr: redrawn in
 * place on a terminal, a plain line every 10 s otherwise; `say` writes a line that stays.
 */
export interface StatusLine {
  update(text: string): void;
  say(text: string): void;
  /** Clears the line drawn on a terminal, so that what follows starts on a clean line. */
  clear(): void;
}

export function createStatusLine(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): StatusLine {
  const tty = stream.isTTY === true;
  let drawnAt: number | null = null;
  let shown = false;
  return {
    update(text) {
      const at = now();
      if (drawnAt !== null && at - drawnAt < (tty ? 100 : 10_000)) return;
      drawnAt = at;
      stream.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
      shown = tty;
    },
    say(text) {
      stream.write(`${shown ? '\r\x1b[K' : ''}${text}\n`);
      shown = false;
      drawnAt = null;
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
      drawnAt = null;
    },
  };
}
