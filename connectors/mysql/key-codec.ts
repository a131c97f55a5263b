import type { ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { SourceOffsetValue } from '#core/source.ts';

// Primary-key values in a snapshot offset must survive JSON exactly: bigints and buffers are tagged.

export function encodeKey(values: ColumnValue[]): SourceOffsetValue[] {
  return values.map((value): SourceOffsetValue => {
    if (typeof value === 'bigint') return { bigint: value.toString() };
    if (Buffer.isBuffer(value)) return { bytes: value.toString('base64') };
    // MySQL has no array columns, so no key holds one.
    if (Array.isArray(value)) throw new TributaryError('INTERNAL', 'an array value cannot be a MySQL snapshot key');
    return value;
  });
}

export function decodeKey(values: SourceOffsetValue[]): ColumnValue[] {
  return values.map((value) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (typeof value.bigint === 'string') return BigInt(value.bigint);
      if (typeof value.bytes === 'string') return Buffer.from(value.bytes, 'base64');
    }
    return value as ColumnValue;
  });
}
