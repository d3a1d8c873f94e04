/**
 * Column alignment as Go's `text/tabwriter` does it with minwidth 0, tabwidth 0, padchar
 * space and no flags, which is how the reference `siftool` lays out `info` and `header`.
 *
 * Cells end at a tab; the text after a line's last tab belongs to no column. A column
 * spans a block of consecutive lines that all have a cell in it, and is as wide as its
 * widest cell plus the padding.
 *
 * @module
 */

/** Aligns the tab-separated cells of `text` with `padding` spaces between columns. */
export function tabwrite(text: string, padding: number): string {
  const lines = text.split("\n").map((line) => line.split("\t"));
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      out.push(
        lines[i].map((cell, j) =>
          j < widths.length ? cell.padEnd(widths[j] + cell.length - width(cell)) : cell
        )
          .join(""),
      );
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let current = line0; current < line1; current++) {
      if (column >= lines[current].length - 1) continue;
      writeLines(line0, current);
      line0 = current;
      let columnWidth = 0;
      for (; current < line1 && column < lines[current].length - 1; current++) {
        columnWidth = Math.max(columnWidth, width(lines[current][column]) + padding);
      }
      widths.push(columnWidth);
      format(line0, current);
      widths.pop();
      line0 = current;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join("\n");
}

/** Width of a cell in runes (code points), as Go counts it. */
function width(cell: string): number {
  let n = 0;
  for (const _ of cell) n++;
  return n;
}
