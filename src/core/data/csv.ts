// A small RFC-4180 CSV reader for the dataset importers: quoted fields with embedded commas,
// quotes ("") and newlines, a UTF-8 BOM, CRLF / LF / CR line ends, gzip by file extension.
// Header names are trimmed because real files disagree on spacing (SIIM's " EncodedPixels").
import fs from 'node:fs';
import zlib from 'node:zlib';
import { DataError } from '../errors';

export interface CsvParsed {
  rows: string[][];
  /** 1-based physical line on which each row starts (for messages naming the record). */
  lines: number[];
}

/** Parses CSV text into rows of fields. Blank lines are skipped. */
export function parseCsv(text: string, file = '<csv>'): CsvParsed {
  const rows: string[][] = [];
  const lines: number[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let line = 1;
  let row: string[] = [];
  let rowLine = 1;
  let field = '';
  let fieldQuoted = false;
  let atFieldStart = true;

  const endField = (): void => {
    row.push(field);
    field = '';
    fieldQuoted = false;
    atFieldStart = true;
  };
  const endRow = (): void => {
    // A line with nothing on it is not a record (trailing newline, blank separator lines).
    const blank = row.length === 0 && field === '' && !fieldQuoted;
    endField();
    if (!blank) {
      rows.push(row);
      lines.push(rowLine);
    }
    row = [];
  };

  while (i < n) {
    const c = text[i];
    if (atFieldStart && c === '"') {
      // Quoted field: read to the closing quote, honouring "" escapes and embedded line ends.
      const startLine = line;
      fieldQuoted = true;
      atFieldStart = false;
      i++;
      let closed = false;
      while (i < n) {
        const q = text[i];
        if (q === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          closed = true;
          break;
        }
        if (q === '\n' || (q === '\r' && text[i + 1] !== '\n')) line++;
        field += q;
        i++;
      }
      if (!closed) throw new DataError(`${file}: unterminated quoted field starting on line ${startLine}`, file);
      continue;
    }
    if (c === ',') {
      endField();
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRow();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      rowLine = line;
      continue;
    }
    // Text after a closing quote (`"a"b`) is kept rather than rejected: real exports do this.
    atFieldStart = false;
    field += c;
    i++;
  }
  if (field !== '' || fieldQuoted || row.length > 0) endRow();
  return { rows, lines };
}

export interface CsvRecord {
  /** 1-based line in the file where the record starts. */
  line: number;
  /** Field values keyed by the trimmed header name; missing trailing fields read as ''. */
  values: Record<string, string>;
  /** How many fields the record actually had (compare with header.length to spot bad rows). */
  width: number;
}

export interface CsvTable {
  file: string;
  /** Header names, trimmed. */
  header: string[];
  records: CsvRecord[];
}

/** Builds a table from parsed rows; the first row is the header. */
export function toTable(parsed: CsvParsed, file: string): CsvTable {
  if (parsed.rows.length === 0) throw new DataError(`${file}: empty CSV (no header row)`, file);
  const header = parsed.rows[0].map((h) => h.trim());
  const records: CsvRecord[] = [];
  for (let r = 1; r < parsed.rows.length; r++) {
    const cells = parsed.rows[r];
    const values: Record<string, string> = {};
    header.forEach((h, k) => { values[h] = cells[k] ?? ''; });
    records.push({ line: parsed.lines[r], values, width: cells.length });
  }
  return { file, header, records };
}

/** Reads a CSV file (gunzipped when the name ends in .gz) into a table. */
export function readCsvTable(file: string): CsvTable {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`cannot read CSV file ${file}: ${(e as Error).message}`, file);
  }
  if (file.endsWith('.gz')) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new DataError(`${file}: not a valid gzip file (${(e as Error).message})`, file);
    }
  }
  return toTable(parseCsv(buf.toString('utf8'), file), file);
}

/** Throws a DataError naming the file and the first missing column. */
export function requireColumns(table: CsvTable, columns: readonly string[]): void {
  for (const c of columns) {
    if (!table.header.includes(c)) {
      throw new DataError(
        `${table.file}: missing column '${c}' (found: ${table.header.map((h) => `'${h}'`).join(', ')})`, table.file, c,
      );
    }
  }
}
