/**
 * Records of a CSV file with a header row (RFC 4180: quoted fields with
 * commas, doubled quotes and line breaks; CRLF or LF; a leading byte order
 * mark), as exported by `\copy ... to ... csv header`, spreadsheets or
 * sqlite3's `.mode csv`. Streams: memory holds one record, not the file.
 */

/** One record of a source and its place in it (CSV: the data row; JSON Lines: the line), or why it cannot be read. */
export type SourceRecord = { row: number; record: Record<string, unknown> } | { row: number; problem: string };

/** A source that cannot be read on at all (as opposed to one record that cannot be). */
export class SourceError extends Error {}

/** Splits a stream of text chunks into rows of cells. */
export async function* csvRows(chunks: AsyncIterable<string>): AsyncGenerator<string[]> {
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  /** Inside quotes, a quote was just read: either the closing one or the first of a doubled pair. */
  let quoteSeen = false;
  let cellStarted = false;
  let first = true;
  for await (let chunk of chunks) {
    if (first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    for (let i = 0; i < chunk.length; i++) {
      const char = chunk[i] as string;
      if (quoted) {
        if (quoteSeen) {
          quoteSeen = false;
          if (char === '"') {
            cell += '"';
            continue;
          }
          quoted = false; // the closing quote: this character is read below as outside quotes
        } else if (char === '"') {
          quoteSeen = true;
          continue;
        } else {
          cell += char;
          continue;
        }
      }
      if (char === '"' && !cellStarted) {
        quoted = true;
        cellStarted = true;
      } else if (char === ",") {
        row.push(cell);
        cell = "";
        cellStarted = false;
      } else if (char === "\n") {
        row.push(stripCr(cell));
        yield row;
        row = [];
        cell = "";
        cellStarted = false;
      } else {
        cell += char;
        if (char !== "\r") cellStarted = true;
      }
    }
  }
  if (quoted && !quoteSeen) throw new SourceError("the file ends inside a quoted field");
  if (cell !== "" || row.length > 0) {
    row.push(stripCr(cell));
    yield row;
  }
}

function stripCr(cell: string): string {
  return cell.endsWith("\r") ? cell.slice(0, -1) : cell;
}

/**
 * The records of a CSV file: one object per row, keyed by the header's names;
 * blank rows are skipped, a row with the wrong number of cells is a problem.
 */
export async function* csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let header: string[] | undefined;
  let row = 0;
  for await (const cells of csvRows(chunks)) {
    if (cells.length === 1 && cells[0] === "") continue;
    if (!header) {
      header = cells.map((name) => name.trim());
      const duplicate = header.find((name, index) => header?.indexOf(name) !== index);
      if (duplicate !== undefined) throw new SourceError(`the header names the column ${JSON.stringify(duplicate)} twice`);
      continue;
    }
    row++;
    if (cells.length !== header.length) {
      yield { row, problem: `has ${cells.length} cells, the header ${header.length}` };
      continue;
    }
    const record: Record<string, string> = {};
    for (let i = 0; i < header.length; i++) record[header[i] as string] = cells[i] as string;
    yield { row, record };
  }
}
