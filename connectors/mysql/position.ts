// Positions in a MySQL/MariaDB binlog. An event's position string orders events of one server: the binlog
// file's sequence number, the event's byte offset in it and the row's index inside the event, zero-padded so
// that comparing the strings compares the positions (see comparePositions in core).

export interface BinlogCoordinates {
  /** Binlog file name, e.g. `mysql-bin.000003`. */
  file: string;
  /** Byte offset in the file, as a decimal string (binlog offsets are 64-bit). */
  pos: string;
  /** GTID state after the covered transactions: MariaDB `0-1-42,1-2-7`, MySQL `uuid:1-42,...`; empty when GTIDs are off. */
  gtids: string;
}

export function fileSequence(file: string): number {
  const match = /\.(\d+)$/.exec(file);
  if (!match) throw new Error(`binlog file name "${file}" has no numeric extension`);
  return Number(match[1]);
}

export function eventPosition(file: string, pos: bigint | number | string, row: number): string {
  return rowPosition(eventPositionPrefix(file, pos), row);
}

/** The part of an event's position its rows share: computed once per binlog event, not once per row. */
export function eventPositionPrefix(file: string, pos: bigint | number | string): string {
  return `${String(fileSequence(file)).padStart(10, '0')}:${String(pos).padStart(20, '0')}:`;
}

const ROW_PADDING = ['000000', '00000', '0000', '000', '00', '0', ''];

/** The position of row `row` of the event whose prefix is `prefix` (eventPositionPrefix). */
export function rowPosition(prefix: string, row: number): string {
  const digits = String(row);
  return prefix + (ROW_PADDING[digits.length] ?? '') + digits;
}
