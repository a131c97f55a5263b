import { describe, expect, it } from 'vitest';
import { createProgress, createStatusLine } from './progress.ts';

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { written, stream: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream };
}

describe('createProgress', () => {
  it('writes plain lines every ten seconds when stderr is not a terminal', () => {
    let now = 0;
    const out = stream(false);
    const progress = createProgress(out.stream, () => now);
    progress.table('shop.orders', 1_000_000);
    now = 5_000;
    progress.rows(100_000);
    now = 10_000;
    progress.rows(250_000);
    progress.recheck(2, 5);
    progress.done();
    expect(out.written).toEqual([
      'verifying shop.orders (about 1,000,000 rows)\n',
      'shop.orders: 250,000 rows compared (25,000 rows/s)\n',
      'shop.orders: 2 ranges differ; re-checking for up to 5 s\n',
    ]);
  });

  it('redraws one bar in place on a terminal, and clears it when the table is done', () => {
    let now = 0;
    const out = stream(true);
    const progress = createProgress(out.stream, () => now);
    progress.table('shop.orders', 1_000);
    now = 1_000;
    progress.rows(500);
    now = 1_050;
    progress.rows(600); // within 100 ms of the last drawing: not drawn
    progress.done();
    expect(out.written).toEqual([
      '\r\x1b[Kshop.orders  [------------------------]   0%  0 rows  0 rows/s',
      '\r\x1b[Kshop.orders  [############------------]  50%  500 rows  500 rows/s',
      '\r\x1b[K',
    ]);
  });
});

describe('createStatusLine', () => {
  it('redraws in place on a terminal and clears before a line that stays', () => {
    let now = 0;
    const out = stream(true);
    const line = createStatusLine(out.stream, () => now);
    line.update('sink behind: 10 messages');
    now = 50;
    line.update('sink behind: 8 messages'); // within 100 ms: not drawn
    now = 200;
    line.update('sink behind: 2 messages');
    line.say('sink caught up');
    line.clear();
    expect(out.written).toEqual(['\r\x1b[Ksink behind: 10 messages', '\r\x1b[Ksink behind: 2 messages', '\r\x1b[Ksink caught up\n']);
  });

  it('writes a plain line every ten seconds when not on a terminal', () => {
    let now = 0;
    const out = stream(false);
    const line = createStatusLine(out.stream, () => now);
    line.update('a');
    now = 9_000;
    line.update('b');
    now = 10_000;
    line.update('c');
    line.say('d');
    line.update('e'); // a line that stays starts the count again
    line.clear();
    expect(out.written).toEqual(['a\n', 'c\n', 'd\n', 'e\n']);
  });
});
