import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import type { Row } from '#core/change-event.ts';
import { fromUnscaled, toUnscaled } from '#core/decimal.ts';
import { TributaryError } from '#core/errors.ts';
import type { ColumnSchema } from '#core/table-schema.ts';
import { isoDate, isoDateTime } from '#core/calendar.ts';
import { quoteString, type BaseType, type ClickHouseType } from './dialect.ts';

// Rows travel to ClickHouse as RowBinary, not JSONEachRow: ClickHouse 18.16 parses floats from text inexactly
// (about one random double in four lands one ulp off) and refuses quoted decimals, and JSON cannot carry raw
// bytes. In RowBinary every value is its exact in-memory form, so nothing is parsed on the server:
//   Nullable(T)  one byte, 1 for NULL (nothing follows) or 0 followed by T
//   integers, floats, Date32 (Int32 days), DateTime64 (Int64 ticks)  little-endian, fixed width
//   Decimal(P, S)  the unscaled integer at S, two's complement little-endian in 4/8/16/32 bytes by P
//   String  LEB128 byte length, then the bytes (text as UTF-8, bytes as they are)
//   UUID  two little-endian 64-bit halves: bytes 0–7 of the UUID reversed, then bytes 8–15 reversed
//   Array(T)  LEB128 element count, then each element as T (Nullable(T): its flag byte, then the value)

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
  /**
   * Cells already in RowBinary for the target column's type, by column name, written as they are instead of the
   * value: the stored values of an update's unchanged columns, read back from the table (splitRowBinary).
   */
  cells?: ReadonlyMap<string, Buffer>;
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
    case 'numeric':
    case 'timetz':
    case 'interval':
      return name === 'String';
    case 'array':
      // Null elements need Nullable items; a type.items array never gets here (checkSourceTable).
      return target.name === 'Array' && target.items.nullable && canWrite(type.items, target.items.base);
  }
}

/** RowBinary of `rows` for the insert column list: `columns` in order, then version, deleted, position. */
export function encodeRows(columns: readonly TargetColumn[], rows: readonly TargetRow[]): Buffer {
  const out = new ByteWriter(rows.length * (columns.length * 16 + 64));
  for (const row of rows) {
    for (const { column, type } of columns) {
      const cell = row.cells?.get(column.name);
      if (cell) out.raw(cell);
      else writeColumn(out, column, column.type, type, row.values[column.name] ?? null);
    }
    out.uint64(row.version);
    out.uint8(row.deleted ? 1 : 0);
    out.text(row.position);
  }
  return out.result();
}

/** One cell; `kind` is the column's type or, inside an array, its items' type. */
function writeColumn(out: ByteWriter, column: ColumnSchema, kind: ColumnType, type: ClickHouseType, value: ColumnValue): void {
  if (value === null) {
    // No Nullable(Array) exists: a NULL array (and the array of a delete row) is the empty array.
    if (!type.nullable && type.base.name === 'Array') return out.uint8(0);
    if (!type.nullable) throw invalid(column, value, 'is NULL but its target column is not Nullable (a key column or an array element)');
    out.uint8(1);
    return;
  }
  if (type.nullable) out.uint8(0);
  writeValue(out, column, kind, type.base, value);
}

function writeValue(out: ByteWriter, column: ColumnSchema, type: ColumnType, base: BaseType, value: Exclude<ColumnValue, null>): void {
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
    case 'numeric':
    case 'timetz':
    case 'interval':
      if (typeof value !== 'string') throw invalid(column, value, 'expected a string');
      return out.text(value);
    case 'array': {
      if (!Array.isArray(value)) throw invalid(column, value, 'expected an array');
      if (base.name !== 'Array') throw invalid(column, '[…]', `cannot be written into ${base.name}`);
      out.leb128(value.length);
      for (const element of value) writeColumn(out, column, type.items, base.items, element);
      return;
    }
    case 'uuid':
      if (typeof value !== 'string') throw invalid(column, value, 'expected a UUID string');
      return base.name === 'UUID' ? out.raw(uuidBytes(column, value)) : out.text(value);
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
      return out.text(value);
    case 'bytes':
      if (!Buffer.isBuffer(value)) throw invalid(column, value, 'expected a Buffer');
      return out.string(value);
  }
}

// --- keys and stored cells: reading the values an update leaves unchanged ----------------------------------

/**
 * The RowBinary of a key's values in key order. Equal keys have equal bytes, which is how rows read back from the
 * table (splitRowBinary) are matched with the changes that asked for them.
 */
export function keyBytes(keyColumns: readonly TargetColumn[], key: Row): string {
  const out = new ByteWriter(16 * keyColumns.length);
  for (const { column, type } of keyColumns) writeColumn(out, column, column.type, type, key[column.name] ?? null);
  return out.result().toString('hex');
}

/**
 * A key value as a SQL constant of its target column's type, for storedValuesQuery. Built from the value's
 * RowBinary, so the constant is exactly the stored value: integers from their digits, floats from their bits,
 * strings from their bytes in hex, decimals from their unscaled digits. Nothing of the value reaches the SQL
 * text except digits and hex.
 */
export function keyLiteral({ column, type }: TargetColumn, value: ColumnValue): string {
  const out = new ByteWriter(16);
  writeColumn(out, column, column.type, { base: type.base, nullable: false }, value);
  const bytes = out.result();
  const base = type.base;
  switch (base.name) {
    case 'UInt8':
      return `toUInt8('${bytes.readUInt8(0)}')`;
    case 'Int16':
      return `toInt16('${bytes.readInt16LE(0)}')`;
    case 'Int32':
      return `toInt32('${bytes.readInt32LE(0)}')`;
    case 'Int64':
      return `toInt64('${bytes.readBigInt64LE(0)}')`;
    case 'UInt64':
      return `toUInt64('${bytes.readBigUInt64LE(0)}')`;
    case 'Float32':
    case 'Float64':
      return `reinterpretAs${base.name}(unhex('${bytes.toString('hex')}'))`;
    case 'String': {
      const { length, at } = readLeb128(bytes, 0);
      return `unhex('${bytes.subarray(at, at + length).toString('hex')}')`;
    }
    case 'UUID': {
      const hex = Buffer.concat([Buffer.from(bytes.subarray(0, 8)).reverse(), Buffer.from(bytes.subarray(8, 16)).reverse()]).toString('hex');
      return `toUUID('${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}')`;
    }
    case 'Date32':
      return `toDate32('${isoDate(bytes.readInt32LE(0))}')`;
    case 'DateTime64': {
      const ticks = bytes.readBigInt64LE(0);
      const unit = 10n ** BigInt(base.precision);
      // Whole seconds by floor division (an instant before 1970 has a positive fraction of the second before it).
      const truncated = ticks / unit;
      const seconds = ticks < 0n && ticks % unit !== 0n ? truncated - 1n : truncated;
      const fraction = ticks - seconds * unit;
      const text = `${isoDateTime(seconds * 1_000_000n, ' ').slice(0, 19)}.${fraction.toString().padStart(base.precision, '0')}`;
      return `toDateTime64('${text}', ${base.precision}, ${quoteString(base.timezone ?? 'UTC')})`;
    }
    case 'Decimal': {
      const width = decimalBytes(base.precision);
      const unscaled = BigInt.asIntN(width * 8, readUnsigned(bytes, width));
      return `toDecimal${width * 8}('${fromUnscaled(unscaled, base.scale)}', ${base.scale})`;
    }
    case 'Array':
      throw invalid(column, '[…]', 'is an array, which cannot be a key column');
  }
}

/**
 * A RowBinary answer cut into its rows and each row into its cells, for columns of `types` in order. Each cell
 * keeps its Nullable flag byte, so that it can be written back into an insert of the same column types as it is.
 */
export function splitRowBinary(data: Buffer, types: readonly ClickHouseType[]): Buffer[][] {
  const rows: Buffer[][] = [];
  let at = 0;
  while (at < data.length) {
    const row: Buffer[] = [];
    for (const type of types) {
      const end = skipCell(data, at, type);
      row.push(data.subarray(at, end));
      at = end;
    }
    rows.push(row);
  }
  return rows;
}

const FIXED_BYTES: Partial<Record<BaseType['name'], number>> = {
  UInt8: 1,
  Int16: 2,
  Int32: 4,
  Date32: 4,
  Float32: 4,
  Int64: 8,
  UInt64: 8,
  Float64: 8,
  DateTime64: 8,
  UUID: 16,
};

function skipCell(data: Buffer, start: number, type: ClickHouseType): number {
  let at = start;
  if (type.nullable) {
    need(data, at, 1);
    if (data[at++] === 1) return at;
  }
  const base = type.base;
  switch (base.name) {
    case 'String': {
      const { length, at: from } = readLeb128(data, at);
      return need(data, from, length);
    }
    case 'Array': {
      const { length, at: from } = readLeb128(data, at);
      at = from;
      for (let i = 0; i < length; i++) at = skipCell(data, at, base.items);
      return at;
    }
    case 'Decimal':
      return need(data, at, decimalBytes(base.precision));
    default:
      return need(data, at, FIXED_BYTES[base.name] as number);
  }
}

/** The end of `bytes` bytes from `at`, or an error when the answer ends before it (a cut connection). */
function need(data: Buffer, at: number, bytes: number): number {
  if (at + bytes > data.length) {
    throw new TributaryError('TARGET_UNAVAILABLE', 'the RowBinary answer of ClickHouse ends inside a row', { retriable: true });
  }
  return at + bytes;
}

function readLeb128(data: Buffer, start: number): { length: number; at: number } {
  let length = 0;
  let shift = 1;
  let at = start;
  for (;;) {
    need(data, at, 1);
    const byte = data[at++] as number;
    length += (byte & 0x7f) * shift;
    if (byte < 0x80) return { length, at };
    shift *= 0x80;
  }
}

function readUnsigned(bytes: Buffer, width: number): bigint {
  let value = 0n;
  for (let i = width - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number);
  return value;
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
    const unscaled = unscaledIn(column, value, base.precision, base.scale);
    return out.signed(unscaled, decimalBytes(base.precision));
  }
  // Too wide for the server's Decimal: the canonical plain text, exactly `scale` fraction digits.
  const unscaled = unscaledIn(column, value, precision, scale);
  out.text(fromUnscaled(unscaled, scale));
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

/** toUnscaled, with the column named in its error (no closure: this runs per decimal value). */
function unscaledIn(column: ColumnSchema, value: string | bigint, precision: number, scale: number): bigint {
  try {
    return toUnscaled(value, precision, scale);
  } catch (error) {
    if (error instanceof TributaryError) throw new TributaryError(error.code, `column "${column.name}": ${error.message}`);
    throw error;
  }
}

function invalid(column: ColumnSchema, value: unknown, why: string): TributaryError {
  const shown = Buffer.isBuffer(value)
    ? `0x${value.toString('hex')}`
    : typeof value === 'string'
      ? JSON.stringify(value)
      : Array.isArray(value)
        ? `an array of ${value.length}`
        : String(value);
  return new TributaryError('VALUE_INVALID', `column "${column.name}" (${column.sourceType}): value ${shown.slice(0, 80)} ${why}`);
}

/** A growable little-endian byte buffer: one allocation per doubling, not one per value. */
/** Text whose UTF-8 is its characters, one byte each. */
const ASCII = /^[\x00-\x7f]*$/;

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

  leb128(value: number): void {
    let n = value;
    while (n >= 0x80) {
      this.uint8((n & 0x7f) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.uint8(n);
  }

  string(bytes: Buffer): void {
    this.leb128(bytes.length);
    this.raw(bytes);
  }

  /** A String from text, encoded straight into the buffer: no Buffer per value. */
  text(value: string): void {
    const bytes = value.length < 128 && ASCII.test(value) ? value.length : Buffer.byteLength(value, 'utf8');
    this.leb128(bytes);
    const at = this.reserve(bytes);
    this.buffer.write(value, at, bytes, bytes === value.length ? 'latin1' : 'utf8');
  }
}
