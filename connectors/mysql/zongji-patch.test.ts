import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// deploy/patches/apply.cjs edits zongji's zeroPad at `npm install`: every date, time and decimal of a binlog row goes
// through it, so its strings must be exactly the ones zongji built before.
const zongjiDir = dirname(createRequire(import.meta.url).resolve('@vlasky/zongji'));
const commonPath = join(zongjiDir, 'lib', 'common.js');

/** What zongji 0.9.0 documents and did: the last `size` characters of 32 zeros followed by `num`. */
function reference(num: unknown, size: number): string {
  const padded = `${'0'.repeat(32)}${String(num)}`;
  return padded.substr(padded.length - size);
}

describe('zongji patch', () => {
  it('the installed zeroPad is the replacement', () => {
    const replacement = readFileSync(new URL('../../deploy/patches/zongji/zeroPad.js', import.meta.url), 'utf8');
    expect(readFileSync(commonPath, 'utf8')).toContain(replacement);
  });

  it('pads and cuts as before, on the values zongji passes and beyond', async () => {
    const { zeroPad } = (await import(pathToFileURL(commonPath).href)) as { zeroPad: (num: unknown, size: number) => string };
    const values: unknown[] = [0, 1, 7, 9, 10, 59, 99, 100, 838, 999, 2026, 9999, 10000, 123456, 999999, 999999999, 1e21, -1, -59, -838, '', '7', '000123', '123456789012'];
    for (const value of values) {
      for (const size of [-1, 0, 1, 2, 3, 4, 6, 9, 12, 31, 32, 33, 34, 40, 70]) {
        expect(zeroPad(value, size), `zeroPad(${JSON.stringify(value)}, ${size})`).toBe(reference(value, size));
      }
    }
  });
});
