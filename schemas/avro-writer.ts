import avro from 'avsc';
import avscUtils, { type Tap } from 'avsc/lib/utils.js';

// The capture encodes every event with the same few schemas, and avsc's generic writer spent half of the capture's
// main thread on it: each nullable field goes through avsc's union dispatch (a type bucket lookup, then, because
// longs and decimals here are custom types, a validity check of every branch, which converts a decimal twice), and
// each string through a native byte-length call. A writer compiled for one schema does the same work straight:
// records are inlined field by field, a union of null and one type is a null check, and short ASCII strings are
// copied without asking for their byte length. Every other type is written by its own avsc type, so the bytes,
// the checks and the errors are avsc's (avro-writer.test.ts compares the two on every column kind).

/** Writes `value` into `buf` at `pos`; returns the end, or, as avsc's `encode`, minus the bytes missing. */
export type AvroWriter = (value: unknown, buf: Buffer, pos: number) => number;

/** What this module uses of avsc's types beyond their public interface. */
interface AvscType {
  typeName: string;
  fields?: Array<{ name: string; type: AvscType; defaultValue(): unknown }>;
  types?: AvscType[];
  toBuffer(value: unknown): Buffer;
  _write(tap: Tap, value: unknown): void;
}

export function compileWriter(type: avro.Type): AvroWriter {
  const compiler = new WriterCompiler();
  const body = compiler.write(type as unknown as AvscType, 'value', 1);
  const build = new Function(
    'tap',
    'writeString',
    'invalid',
    ...compiler.names,
    `return function write(value, buf, pos) {\n  tap.buf = buf;\n  tap.pos = pos;\n${body}  return tap.pos <= buf.length ? tap.pos : buf.length - tap.pos;\n};`,
  ) as (...args: unknown[]) => AvroWriter;
  return build(new avscUtils.Tap(Buffer.alloc(0)), writeString, invalid, ...compiler.values);
}

class WriterCompiler {
  readonly names: string[] = [];
  readonly values: unknown[] = [];
  private variables = 0;
  /** Records being inlined: a record that contains itself is written by avsc from there on. */
  private readonly inlining = new Set<AvscType>();

  /** Code that writes the value of expression `value` (a plain variable) of `type`. */
  write(type: AvscType, value: string, depth: number): string {
    const pad = '  '.repeat(depth);
    if (type.typeName === 'record' && !this.inlining.has(type)) return this.record(type, value, depth);
    if (type.typeName === 'union:unwrapped' && type.types?.length === 2) {
      const nullIndex = type.types.findIndex((branch) => branch.typeName === 'null');
      if (nullIndex >= 0) {
        const other = type.types[1 - nullIndex] as AvscType;
        // A union index is a zigzag varint: index i is the single byte 2i.
        return (
          `${pad}if (${value} === null) tap.buf[tap.pos++] = ${2 * nullIndex};\n` +
          `${pad}else if (${value} === undefined) invalid(${this.constant(type)}, ${value});\n` +
          `${pad}else {\n${pad}  tap.buf[tap.pos++] = ${2 * (1 - nullIndex)};\n${this.write(other, value, depth + 1)}${pad}}\n`
        );
      }
    }
    if (type.typeName === 'string') return `${pad}if (typeof ${value} === 'string') writeString(tap, ${value}); else invalid(${this.constant(type)}, ${value});\n`;
    return `${pad}${this.constant(type)}._write(tap, ${value});\n`;
  }

  /** A record's fields in order; a field left undefined takes its default, as avsc's record writer does. */
  private record(type: AvscType, value: string, depth: number): string {
    const pad = '  '.repeat(depth);
    this.inlining.add(type);
    let code = '';
    for (const field of type.fields ?? []) {
      const variable = `v${++this.variables}`;
      code += `${pad}const ${variable} = ${value}[${JSON.stringify(field.name)}];\n`;
      const fallback = field.defaultValue();
      if (fallback === undefined) {
        code += this.write(field.type, variable, depth);
      } else {
        const bytes = field.type.toBuffer(fallback).toString('binary');
        code += `${pad}if (${variable} === undefined) tap.writeBinary(${this.constant(bytes)}, ${bytes.length});\n`;
        code += `${pad}else {\n${this.write(field.type, variable, depth + 1)}${pad}}\n`;
      }
    }
    this.inlining.delete(type);
    return `${pad}{\n${code}${pad}}\n`;
  }

  /** The name under which the compiled function sees `constant`. */
  private constant(constant: unknown): string {
    const known = this.values.indexOf(constant);
    if (known >= 0) return this.names[known] as string;
    this.values.push(constant);
    this.names.push(`c${this.names.length}`);
    return this.names[this.names.length - 1] as string;
  }
}

/**
 * avsc's Tap.writeString, without its native byte-length call where the length is known without it: a short ASCII
 * string is copied byte by byte behind its one-byte length, and a longer one whose UTF-8 length (between its length
 * and three times it) has a varint of one size either way is written first and its length put before it. The
 * bytes are the same; anything else, and a buffer without room, goes to avsc's own method.
 */
function writeString(tap: Tap, text: string): void {
  const length = text.length;
  const buf = tap.buf;
  const pos = tap.pos;
  if (length < 64) {
    if (pos + 1 + length <= buf.length) {
      let i = 0;
      for (; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        buf[pos + 1 + i] = code;
      }
      if (i === length) {
        buf[pos] = length << 1;
        tap.pos = pos + 1 + length;
        return;
      }
    }
  } else {
    const size = varintSize(length);
    if (size === varintSize(3 * length) && pos + size + 3 * length <= buf.length) {
      const written = buf.write(text, pos + size, 'utf8');
      tap.writeLong(written);
      tap.pos = pos + size + written;
      return;
    }
  }
  tap.writeString(text);
}

/** Bytes of the zigzag varint of a non-negative length. */
function varintSize(length: number): number {
  let size = 1;
  for (let zigzag = length * 2; zigzag >= 0x80; zigzag = Math.floor(zigzag / 128)) size++;
  return size;
}

function invalid(type: AvscType, value: unknown): never {
  throw new TypeError(`invalid ${JSON.stringify(type.typeName)}: ${typeof value === 'bigint' ? `${value}n` : String(value)}`);
}
