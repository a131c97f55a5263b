import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import type { Row } from '#core/change-event.ts';
import { fromUnscaled, toUnscaled } from '#core/decimal.ts';
import { TributaryError } from '#core/errors.ts';
import type { ColumnSchema } from '#core/table-schema.ts';
import type { BaseType, ClickHouseType } from './dialect.ts';

// Rows travel to ClickHouse as RowBinary, not JSONEachRow: ClickHouse 18.16 parses floats from text inexactly
// (about one random double in four lands one ulp off) and refuses quoted decimals, and JSON cannot carry raw
// bytes. In RowBinary every value is its exact in-memory form, so nothing is parsed on the server:
//   Nullable(T)  one byte, 1 for NULL (nothing follows) or 0 followed by T
//   integers, floats, Date32 (Int32 days), DateTime64 (Int64 ticks)  little-endian, fixed width
//   Decimal(P, S)  the unscaled integer at S, two's complement little-endian in 4/8/16/32 bytes by P
//   String  LEB128 byte length, then the bytes (text as UTF-8, bytes as they are)
//   UUID  two little-endian 64-bit halves: bytes 0–7 of the UUID reversed, then bytes 8–15 reversed

/** A source column and the type of its target column (which may be wider than the one the sink would create). */
export interface TargetColumn {
  column: ColumnSchema;
  type: ClickHouseType;
}

/** One target row: the values (only the key for a delete), and Tributary's own columns. */
export interface TargetRow {
  values: Row;
  version: bigint;
  deleted: boolean;
  position: string;
}

/** Date32 and DateTime64 cover 1900-01-01 to 2299-12-31; ClickHouse silently clamps values outside. */
export const DATE32_RANGE = { min: -25_567, max: 120_529 } as const;
export const DATETIME64_RANGE_MICROS = { min: -2_208_988_800_000_000n, max: 10_413_791_999_999_999n } as const;

/** Whether values of `type` can be written exactly into a column of type `target` (create or widened). */
export function canWrite(type: ColumnType, target: BaseType): boolean {
  const name = target.name;
  switch (type.kind) {
    case 'boolean':
      return name === 'UInt8';
    case 'int16':
      return name === 'Int16' || name === 'Int32' || name === 'Int64';
    case 'int32':
    case 'year':
      return name === 'Int32' || name === 'Int64';
    case 'int64':
      return name === 'Int64';
    case 'float32':
      return name === 'Float32' || name === 'Float64';
    case 'float64':
      return name === 'Float64';
    case 'decimal':
      return (
        name === 'String' ||
        (target.name === 'Decimal' && target.scale >= type.scale && target.precision - target.scale >= type.precision - type.scale)
      );
    case 'uuid':
      return name === 'UUID' || name === 'String';
    case 'bits':
      return name === 'String' || (name === 'UInt64' && type.length <= 64);
    case 'date':
      return name === 'Int32' || name === 'Date32';
    case 'time':
      return name === 'Int64';
    case 'timestamp':
    case 'timestamptz':
      return name === 'Int64' || (target.name === 'DateTime64' && target.precision >= 6 && target.precision <= 9 && target.timezone === 'UTC');
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'bytes':
      return name === 'String';
  }
}

/** RowBinary of `rows` for the insert column list: `columns` in order, then version, deleted, position. */
export function encodeRows(columns: readonly TargetColumn[], rows: readonly TargetRow[]): Buffer {
  const out = new ByteWriter(rows.length * (columns.length * 8 + 32));
  for (const row of rows) {
    for (const { column, type } of columns) writeColumn(out, column, type, row.values[column.name] ?? null);
    out.uint64(row.version);
    out.uint8(row.deleted ? 1 : 0);
    out.string(Buffer.from(row.position, 'utf8'));
  }
  return out.result();
}

function writeColumn(out: ByteWriter, column: ColumnSchema, type: ClickHouseType, value: ColumnValue): void {
  if (value === null) {
    if (!type.nullable) throw invalid(column, value, 'is NULL but its target column is not Nullable (a key column)');
    out.uint8(1);
    return;
  }
  if (type.nullable) out.uint8(0);
  writeValue(out, column, type.base, value);
}

function writeValue(out: ByteWriter, column: ColumnSchema, base: BaseType, value: Exclude<ColumnValue, null>): void {
  const type = column.type;
  switch (type.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(column, value, 'expected a boolean');
      return out.uint8(value ? 1 : 0);
    case 'int16':
    case 'int32':
    case 'year':
    case 'int64':
      return writeInteger(out, column, base, integer(column, value));
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') throw invalid(column, value, 'expected a number');
      return base.name === 'Float32' ? out.float32(value) : out.float64(value);
    case 'decimal':
      return writeDecimal(out, column, base, value, type.precision, type.scale);
    case 'uuid':
      if (typeof value !== 'string') throw invalid(column, value, 'expected a UUID string');
      return base.name === 'UUID' ? out.raw(uuidBytes(column, value)) : out.string(Buffer.from(value, 'utf8'));
    case 'bits':
      if (!Buffer.isBuffer(value)) throw invalid(column, value, 'expected a Buffer');
      if (base.name === 'String') return out.string(value);
      if (value.length > 8) throw invalid(column, value, 'has more than 64 bits');
      return out.raw(Buffer.concat([value, Buffer.alloc(8 - value.length)])); // little-endian already: pad the top
    case 'date':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(column, value, 'expected an integer day number');
      if (base.name === 'Date32' && (value < DATE32_RANGE.min || value > DATE32_RANGE.max)) {
        throw invalid(column, value, 'is outside Date32 (1900-01-01 to 2299-12-31), which ClickHouse would clamp silently');
      }
      return out.int32(value);
    case 'time':
      return out.int64(integer(column, value));
    case 'timestamp':
    case 'timestamptz':
      return writeTimestamp(out, column, base, integer(column, value));
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
      if (typeof value !== 'string') throw invalid(column, value, 'expected a string');
      return out.string(Buffer.from(value, 'utf8'));
    case 'bytes':
      if (!Buffer.isBuffer(value)) throw invalid(column, value, 'expected a Buffer');
      return out.string(value);
  }
}

function integer(column: ColumnSchema, value: Exclude<ColumnValue, null>): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw invalid(column, value, 'expected an integer');
}

const INT_BITS: Record<string, number> = { Int16: 16, Int32: 32, Int64: 64 };

function writeInteger(out: ByteWriter, column: ColumnSchema, base: BaseType, value: bigint): void {
  const bits = INT_BITS[base.name] as number;
  if (value < -(1n << BigInt(bits - 1)) || value >= 1n << BigInt(bits - 1)) {
    throw invalid(column, value, `does not fit ${base.name}`);
  }
  out.signed(value, bits / 8);
}

function writeDecimal(out: ByteWriter, column: ColumnSchema, base: BaseType, value: Exclude<ColumnValue, null>, precision: number, scale: number): void {
  if (typeof value !== 'string' && typeof value !== 'bigint') throw invalid(column, value, 'expected a decimal string');
  if (base.name === 'Decimal') {
    // toUnscaled refuses anything that would need rounding or more digits than the target holds.
    const unscaled = withColumn(column, () => toUnscaled(value, base.precision, base.scale));
    return out.signed(unscaled, decimalBytes(base.precision));
  }
  // Too wide for the server's Decimal: the canonical plain text, exactly `scale` fraction digits.
  const unscaled = withColumn(column, () => toUnscaled(value, precision, scale));
  out.string(Buffer.from(fromUnscaled(unscaled, scale), 'utf8'));
}

function decimalBytes(precision: number): number {
  return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32;
}

function writeTimestamp(out: ByteWriter, column: ColumnSchema, base: BaseType, micros: bigint): void {
  if (base.name !== 'DateTime64') return out.int64(micros);
  if (micros < DATETIME64_RANGE_MICROS.min || micros > DATETIME64_RANGE_MICROS.max) {
    throw invalid(column, micros, 'is outside DateTime64 (1900-01-01 to 2299-12-31 23:59:59.999999), which ClickHouse would clamp silently');
  }
  out.int64(micros * 10n ** BigInt(base.precision - 6));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidBytes(column: ColumnSchema, value: string): Buffer {
  if (!UUID.test(value)) throw invalid(column, value, 'is not a UUID in canonical form');
  const hex = value.replace(/-/g, '');
  return Buffer.concat([Buffer.from(hex.slice(0, 16), 'hex').reverse(), Buffer.from(hex.slice(16), 'hex').reverse()]);
}

function withColumn<T>(column: ColumnSchema, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof TributaryError) throw new TributaryError(error.code, `column "${column.name}": ${error.message}`);
    throw error;
  }
}

function invalid(column: ColumnSchema, value: unknown, why: string): TributaryError {
  const shown = Buffer.isBuffer(value) ? `0x${value.toString('hex')}` : typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new TributaryError('VALUE_INVALID', `column "${column.name}" (${column.sourceType}): value ${shown.slice(0, 80)} ${why}`);
}

/** A growable little-endian byte buffer: one allocation per doubling, not one per value. */
class ByteWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initial: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(64, initial));
  }

  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(bytes: number): number {
    if (this.length + bytes > this.buffer.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(next, 0, 0, this.length);
      this.buffer = next;
    }
    const at = this.length;
    this.length += bytes;
    return at;
  }

  // reserve() may replace this.buffer, so it is always called before this.buffer is read.
  uint8(value: number): void {
    const at = this.reserve(1);
    this.buffer.writeUInt8(value, at);
  }

  int32(value: number): void {
    const at = this.reserve(4);
    this.buffer.writeInt32LE(value, at);
  }

  int64(value: bigint): void {
    this.signed(value, 8);
  }

  uint64(value: bigint): void {
    const at = this.reserve(8);
    this.buffer.writeBigUInt64LE(value, at);
  }

  float32(value: number): void {
    const at = this.reserve(4);
    this.buffer.writeFloatLE(value, at);
  }

  float64(value: number): void {
    const at = this.reserve(8);
    this.buffer.writeDoubleLE(value, at);
  }

  /** A two's-complement integer in `bytes` bytes, little-endian; the caller has checked that it fits. */
  signed(value: bigint, bytes: number): void {
    const at = this.reserve(bytes);
    if (bytes === 2) return void this.buffer.writeInt16LE(Number(value), at);
    if (bytes === 4) return void this.buffer.writeInt32LE(Number(value), at);
    if (bytes === 8) return void this.buffer.writeBigInt64LE(value, at);
    let rest = BigInt.asUintN(bytes * 8, value);
    for (let i = 0; i < bytes; i++) {
      this.buffer[at + i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
  }

  raw(bytes: Buffer): void {
    const at = this.reserve(bytes.length);
    bytes.copy(this.buffer, at);
  }

  string(bytes: Buffer): void {
    let n = bytes.length;
    while (n >= 0x80) {
      this.uint8((n & 0x7f) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.uint8(n);
    this.raw(bytes);
  }
}
