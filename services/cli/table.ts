/** A column of a plain-text table: numbers read best right-aligned. */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/**
 * A plain-text table for the terminal: the header line, then one line per row, each column as wide as its widest
 * cell and two spaces from the next. No borders, so that the output stays easy to grep and to paste.
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const lines = [columns.map((c) => c.header), ...rows.map((row) => columns.map((_, i) => row[i] ?? ''))];
  // Code points, not UTF-16 units: a name with an emoji takes one column per character, not two.
  const width = (text: string) => [...text].length;
  const widths = columns.map((_, i) => Math.max(...lines.map((line) => width(line[i] as string))));
  return lines
    .map((line) =>
      line
        .map((cell, i) => {
          const pad = ' '.repeat((widths[i] as number) - width(cell));
          return columns[i]?.align === 'right' ? pad + cell : cell + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
