import { TributaryError } from './errors.ts';

// Decimals travel as plain-notation strings in memory and as the two's-complement big-endian unscaled
// integer in Avro (the `decimal` logical type). Both conversions are exact: nothing here goes through a float.

const PLAIN = /^([+-])?(\d+)(?:\.(\d*))?$/;

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
