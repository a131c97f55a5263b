import { TributaryError } from './errors.ts';

// Decimals travel as plain-notation strings in memory and as the two's-complement big-endian unscaled
// integer in Avro (the `decimal` logical type). Both conversions are exact: nothing here goes through a float.

const PLAIN = /^([+-])?(\d+)(?:\.(\d*))?$/;

/** `-?\d{1,maxDigits}`, checked without a regular expression (sources call it per integer value). */
export function isIntegerText(text: string, maxDigits: number): boolean {
  const start = text.charCodeAt(0) === 45 ? 1 : 0;
  const length = text.length - start;
  if (length < 1 || length > maxDigits) return false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Parses `value` into its unscaled integer at `scale`, refusing anything that would need rounding. */
export function toUnscaled(value: string | bigint, precision: number, scale: number): bigint {
  if (typeof value === 'bigint') {
    return checkPrecision(value * 10n ** BigInt(scale), precision, String(value));
  }
  const match = PLAIN.exec(value.trim());
  if (!match) {
    throw new TributaryError('VALUE_INVALID', `"${value}" is not a decimal in plain notation (like -12.340)`);
  }
  const [, sign, whole = '', fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > scale) {
    throw new TributaryError(
      'VALUE_INVALID',
      `"${value}" has more fraction digits than decimal(${precision},${scale}) holds; it would need rounding`,
    );
  }
  const digits = whole + fraction.padEnd(scale, '0').slice(0, scale);
  const unscaled = BigInt(digits) * (sign === '-' ? -1n : 1n);
  return checkPrecision(unscaled, precision, value);
}

function checkPrecision(unscaled: bigint, precision: number, shown: string): bigint {
  const magnitude = unscaled < 0n ? -unscaled : unscaled;
  if (magnitude.toString().length > precision && magnitude !== 0n) {
    throw new TributaryError('VALUE_INVALID', `"${shown}" has more digits than precision ${precision} allows`);
  }
  return unscaled;
}

/** Formats an unscaled integer at `scale` in plain notation with exactly `scale` fraction digits. */
export function fromUnscaled(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const text = scale > 0 ? `${whole}.${digits.slice(digits.length - scale)}` : whole;
  return negative ? `-${text}` : text;
}

/**
 * The Avro bytes of `value` at `scale`: bigintToBytes(toUnscaled(value, precision, scale)), computed in exact float
 * arithmetic for a plain decimal string of at most 15 digits (every DECIMAL a capture usually meets), which spares
 * the BigInt, hex text and regular expression per value. Anything else, errors included, takes the exact path.
 */
export function unscaledBytes(value: string | bigint, precision: number, scale: number): Buffer {
  if (typeof value === 'string') {
    const small = smallUnscaled(value, precision, scale);
    if (small !== undefined) return smallToBytes(small);
  }
  return bigintToBytes(toUnscaled(value, precision, scale));
}

/** The unscaled integer of a plain `[+-]digits[.digits]` with at most 15 digits at `scale`, or undefined. */
function smallUnscaled(text: string, precision: number, scale: number): number | undefined {
  const length = text.length;
  let i = 0;
  const first = text.charCodeAt(0);
  const negative = first === 45;
  if (negative || first === 43) i++;
  let n = 0;
  let digits = 0; // significant digits of the unscaled value, leading zeros excluded
  const wholeStart = i;
  for (; i < length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    if (n > 0) digits++;
  }
  if (i === wholeStart) return undefined;
  let used = 0; // fraction digits taken into the unscaled value
  if (i < length) {
    if (text.charCodeAt(i) !== 46) return undefined;
    for (i++; i < length; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
      if (used < scale) {
        n = n * 10 + d;
        if (n > 0) digits++;
        used++;
      } else if (d !== 0) {
        return undefined; // would need rounding: the exact path says so
      }
    }
  }
  for (; used < scale; used++) {
    n *= 10;
    if (n > 0) digits++;
  }
  if (digits > 15 || digits > precision) return undefined; // past exact floats, or over the precision: exact path
  return negative && n !== 0 ? -n : n;
}

/** Two's-complement limits of 1 to 7 bytes: a value below LIMITS[k] fits k + 1 bytes. */
const LIMITS = [2 ** 7, 2 ** 15, 2 ** 23, 2 ** 31, 2 ** 39, 2 ** 47, 2 ** 55];

/** bigintToBytes for a safe integer, in exact float arithmetic. */
function smallToBytes(n: number): Buffer {
  // A negative n is written as the bitwise complement of -n - 1, which has the same length.
  const negative = n < 0;
  let magnitude = negative ? -n - 1 : n;
  let length = 1;
  while (magnitude >= (LIMITS[length - 1] as number)) length++;
  const bytes = Buffer.allocUnsafe(length);
  for (let i = length - 1; i >= 0; i--) {
    const low = magnitude % 256;
    bytes[i] = negative ? 255 - low : low;
    magnitude = (magnitude - low) / 256;
  }
  return bytes;
}

/** Minimal two's-complement big-endian bytes of `n`, as Avro's decimal and Java's BigInteger.toByteArray. */
export function bigintToBytes(n: bigint): Buffer {
  let hex = (n < 0n ? (1n << BigInt(byteLength(n) * 8)) + n : n).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  const length = byteLength(n);
  return bytes.length === length ? bytes : Buffer.concat([Buffer.alloc(length - bytes.length, n < 0n ? 0xff : 0), bytes]);
}

function byteLength(n: bigint): number {
  // Bits needed for the magnitude plus one sign bit, rounded up to whole bytes.
  const magnitude = n < 0n ? -n - 1n : n;
  return Math.floor(magnitude.toString(2).length / 8) + 1;
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  const unsigned = BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
  const negative = (bytes[0] as number) & 0x80;
  return negative ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned;
}
