import avro from 'avsc';
import { bytesToBigint, fromUnscaled, unscaledBytes } from '#core/decimal.ts';

// avsc reads Avro longs as JS numbers by default, which silently loses precision above 2^53. Every long here
// is a bigint instead (encoding also takes safe-integer numbers), and decimals are exact strings.

const MIN_LONG = -(2n ** 63n);
const MAX_LONG = 2n ** 63n - 1n;

const LONG_AS_BIGINT = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (json: unknown) => BigInt(json as string),
  toJSON: (n: bigint) => (Number.isSafeInteger(Number(n)) ? Number(n) : n.toString()),
  isValid: (n: unknown) =>
    (typeof n === 'bigint' && n >= MIN_LONG && n <= MAX_LONG) || (typeof n === 'number' && Number.isSafeInteger(n)),
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

// avsc's custom long types go through an 8-byte Buffer per value, which dominated capture's profile. The
// varint is written and read here directly: numbers and safe bigints through avsc's own fast path, larger
// bigints exactly with BigInt arithmetic; 7 varint bytes (49 bits) are read in float arithmetic, exact.
interface Tap {
  buf: Buffer;
  pos: number;
  writeLong(n: number): void;
}
function writeLong(tap: Tap, value: bigint | number): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`${value} is not an exact integer for an Avro long`);
    return tap.writeLong(value);
  }
  // A bigint converts to a safe integer exactly when it is one: from 2^53 up, the conversion rounds to a number
  // that is not safe. One conversion instead of two bigint comparisons, for every long of every event.
  const number = Number(value);
  if (Number.isSafeInteger(number)) return tap.writeLong(number);
  if (value < MIN_LONG || value > MAX_LONG) throw new TypeError('value is outside the 64-bit range of an Avro long');
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const buf = tap.buf;
  while (zigzag >= 0x80n) {
    buf[tap.pos++] = Number(zigzag & 0x7fn) | 0x80;
    zigzag >>= 7n;
  }
  buf[tap.pos++] = Number(zigzag);
}

function readLong(tap: Tap): bigint {
  const buf = tap.buf;
  let pos = tap.pos;
  let n = 0;
  let scale = 1;
  let byte = 0;
  let count = 0;
  do {
    byte = buf[pos++] as number;
    n += (byte & 0x7f) * scale;
    scale *= 128;
    count++;
  } while (byte & 0x80 && count < 7);
  if (!(byte & 0x80)) {
    tap.pos = pos;
    return BigInt(n % 2 ? -(n + 1) / 2 : n / 2);
  }
  let zigzag = BigInt(n);
  let shift = 49n;
  do {
    byte = buf[pos++] as number;
    zigzag |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  } while (byte & 0x80);
  tap.pos = pos;
  return (zigzag >> 1n) ^ -(zigzag & 1n);
}

// avsc freezes its types: the fast varint methods go on an object that inherits everything else from the type.
const FAST_LONG: avro.Type = Object.create(LONG_AS_BIGINT, {
  _write: { value: writeLong },
  _read: { value: readLong },
});

class DecimalType extends avro.types.LogicalType {
  private readonly precision: number;
  private readonly scale: number;

  constructor(schema: avro.Schema, options?: object) {
    super(schema, options);
    const attributes = schema as { precision?: number; scale?: number };
    this.precision = attributes.precision ?? 0;
    this.scale = attributes.scale ?? 0;
  }

  override _fromValue(value: Buffer): string {
    return fromUnscaled(bytesToBigint(value), this.scale);
  }

  override _toValue(value: unknown): Buffer {
    if (typeof value !== 'string' && typeof value !== 'bigint') {
      throw new TypeError(`decimal(${this.precision},${this.scale}) takes a string or bigint, got ${typeof value}`);
    }
    return unscaledBytes(value, this.precision, this.scale);
  }

  override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, 'logical:decimal')) {
      const other = type as unknown as DecimalType;
      if (other.precision === this.precision && other.scale === this.scale) return (value) => value;
    }
    return undefined;
  }

  override _export(schema: avro.Schema): void {
    Object.assign(schema as object, { precision: this.precision, scale: this.scale });
  }
}

/** The avsc options every encoder and decoder of the project uses. */
export function avroOptions(): Partial<avro.ForSchemaOptions> {
  return {
    logicalTypes: { decimal: DecimalType },
    typeHook: (schema: avro.Schema) => {
      const type = typeof schema === 'string' ? schema : (schema as { type?: unknown }).type;
      // Long-based logical types (timestamp-micros, time-micros) stay plain bigints: exact, and what ColumnValue says.
      return type === 'long' ? FAST_LONG : undefined;
    },
  };
}

export function avroType(schema: object | string): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, avroOptions());
}

/**
 * Why `value` does not fit `type`, naming each offending field path (`after.price`) and, for decimals, the
 * reason (precision, rounding). avsc's own message only says the whole union was invalid.
 */
export function explainInvalid(type: avro.Type, value: unknown): string {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path: string[], leaf: unknown, leafType: avro.Type) => {
      let reason = `is not a valid ${leafType.typeName}`;
      const branches = avro.Type.isType(leafType, 'union') ? (leafType as unknown as { types: avro.Type[] }).types : [leafType];
      for (const branch of branches) {
        if (branch instanceof DecimalType) {
          try {
            branch._toValue(leaf);
          } catch (error) {
            reason = (error as Error).message;
          }
        }
      }
      problems.push(`${path.join('.')} ${reason}`);
    },
  });
  return problems.length > 0 ? problems.join('; ') : 'the value does not match its schema';
}
