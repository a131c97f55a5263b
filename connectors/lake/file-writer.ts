import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import type { LogRecord } from '#core/log-sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { faultAt } from './fault.ts';
import { fileSchema, footerSchema } from './parquet-types.ts';
import { converter, text, type Converter, type ParquetValue } from './values.ts';

export interface RowGroupLimits {
  /** A row group is written once it has this many rows… */
  rows: number;
  /** …or its values take about this many bytes in memory, whichever comes first. */
  bytes: number;
}

export const DEFAULT_ROW_GROUP: RowGroupLimits = { rows: 10_000, bytes: 8 * 1024 * 1024 };

/**
 * A ByteWriter that empties itself into a file after each row group (hyparquet-writer calls flush() then), so
 * that a file never sits in memory whole: at most one row group's encoded bytes do. Writes are synchronous, one
 * row group (a few MB) at a time.
 */
class FileByteWriter extends ByteWriter {
  constructor(private readonly fd: number) {
    super(1024 * 1024);
  }

  flush(): void {
    let written = 0;
    while (written < this.index) written += writeSync(this.fd, new Uint8Array(this.buffer, written, this.index - written));
    this.index = 0;
  }

  override finish(): void {
    this.flush();
  }
}

/**
 * One Parquet file of one table version, written row group by row group to `path` (a temporary file): records are
 * converted and buffered per column, and each full row group is encoded and written out. finish() writes the
 * footer and fsyncs; nothing here renames or publishes.
 */
export class ParquetFileWriter {
  private readonly writer: ParquetWriter;
  private readonly out: FileByteWriter;
  private readonly fd: number;
  private readonly schema: SchemaElement[];
  private readonly names: string[];
  private readonly converters: Converter[];
  private columns: ParquetValue[][];
  private buffered = 0;
  private bufferedBytes = 0;
  private rowCount = 0;
  private closed = false;

  constructor(
    readonly path: string,
    readonly table: TableSchema,
    private readonly limits: RowGroupLimits = DEFAULT_ROW_GROUP,
  ) {
    this.schema = fileSchema(table);
    this.names = this.schema.slice(1).map((e) => e.name);
    this.converters = table.columns.map((c) => converter(c.type));
    // 'wx': a temporary name is fresh; finding a file there is a bug, not something to overwrite.
    this.fd = openSync(path, 'wx');
    this.out = new FileByteWriter(this.fd);
    this.writer = new ParquetWriter({ writer: this.out, schema: this.schema, createdBy: 'tributary lake sink (hyparquet-writer)' });
    this.columns = this.names.map(() => []);
  }

  /** Rows appended so far. */
  get rows(): number {
    return this.rowCount;
  }

  /** The file's size so far: bytes written plus an estimate of the row group in memory. */
  get bytes(): number {
    return this.out.offset + this.bufferedBytes;
  }

  /**
   * Adds one record as a row. Every value is converted before any is buffered, so a value the file cannot hold
   * (VALUE_INVALID) leaves the file as it was.
   */
  append(record: LogRecord): void {
    const columns = this.table.columns;
    const row: ParquetValue[] = new Array(this.names.length);
    let size = 0;
    for (let i = 0; i < columns.length; i++) {
      const name = (columns[i] as { name: string }).name;
      const value = record.row ? (this.converters[i] as Converter)(record.row[name] ?? null, name) : null;
      row[i] = value;
      size += sizeOf(value);
    }
    const op = text(record.op);
    const position = text(record.position);
    const unchanged = record.unchanged && record.unchanged.length > 0 ? text(JSON.stringify(record.unchanged)) : null;
    row[columns.length] = op;
    row[columns.length + 1] = position;
    row[columns.length + 2] = BigInt(record.tsMs);
    row[columns.length + 3] = unchanged;
    size += op.length + position.length + 8 + (unchanged?.length ?? 0);
    for (let i = 0; i < row.length; i++) (this.columns[i] as ParquetValue[]).push(row[i] as ParquetValue);
    this.buffered++;
    this.rowCount++;
    this.bufferedBytes += size;
    if (this.buffered >= this.limits.rows || this.bufferedBytes >= this.limits.bytes) this.writeRowGroup();
  }

  private writeRowGroup(): void {
    if (this.buffered === 0) return;
    const columnData = this.names.map((name, i) => ({ name, data: this.columns[i] as ParquetValue[] }));
    // One call, one row group: the size passed is the number of rows buffered.
    void this.writer.write({ columnData: columnData as Parameters<ParquetWriter['write']>[0]['columnData'], rowGroupSize: this.buffered });
    this.columns = this.names.map(() => []);
    this.buffered = 0;
    this.bufferedBytes = 0;
    faultAt('row-group');
  }

  /** Writes the last row group and the footer, fsyncs and closes the file; returns its size. */
  finish(): number {
    this.writeRowGroup();
    // The pages are written; the footer describes JSON columns with their converted type too (parquet-types.ts).
    this.writer.schema = footerSchema(this.schema);
    void this.writer.finish();
    // Invariant: the file's bytes are on disk before anyone renames it into place.
    fsyncSync(this.fd);
    this.close();
    return this.out.offset;
  }

  /** Closes and deletes the file (a rebalance took its partition, or the process stops without publishing). */
  abort(): void {
    this.close();
    try {
      unlinkSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

function sizeOf(value: ParquetValue): number {
  if (value === null) return 1;
  if (value instanceof Uint8Array) return value.length + 4;
  return typeof value === 'boolean' ? 1 : 8;
}
