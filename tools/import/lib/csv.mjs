// A small CSV reader after RFC 4180: fields separated by commas (or another one-character
// separator), records ended by CRLF, LF or a lone CR; a field in double quotes may hold the
// separator, line breaks and doubled quotes (""). Lenient where real files are: a last record
// without a line break is read, and a record may have more or fewer fields than the header
// (the caller decides what that means). Unterminated quotes and text after a closing quote
// are errors, reported with the record's 1-based line number.

export class CsvError extends Error {
  constructor(message, line) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

// parseCsv(text, {separator}) -> [{fields: [...], line: N}]  (line: where the record starts)
export function parseCsv(text, { separator = ',' } = {}) {
  const records = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const startLine = line;
    const fields = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new CsvError('unterminated quoted field', startLine);
          const chunk = text.slice(i, q);
          for (let k = 0; k < chunk.length; k++) {
            const c = chunk.charCodeAt(k);
            if (c === 10 || (c === 13 && chunk.charCodeAt(k + 1) !== 10)) line++;
          }
          field += chunk;
          if (text[q + 1] === '"') { field += '"'; i = q + 2; continue; }
          i = q + 1;
          break;
        }
        if (i < n && text[i] !== separator && text[i] !== '\n' && text[i] !== '\r') {
          throw new CsvError(`unexpected ${JSON.stringify(text[i])} after a closing quote`, line);
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text[j];
          if (c === separator || c === '\n' || c === '\r') break;
          if (c === '"') throw new CsvError('quote inside an unquoted field', line);
          j++;
        }
        field = text.slice(i, j);
        i = j;
      }
      fields.push(field);
      if (i >= n) break;
      if (text[i] === separator) { i++; if (i >= n) { fields.push(''); break; } continue; }
      // record end: CRLF, LF or CR
      if (text[i] === '\r' && text[i + 1] === '\n') i += 2; else i++;
      line++;
      break;
    }
    records.push({ fields, line: startLine });
  }
  return records;
}

// Header and rows with named access. `header` is trimmed of spaces per field (the thermal-power
// header is " 발전량(MWh) "). Records that are one empty field (blank lines) are left out and
// counted in `blank`.
export function readTable(text, opts = {}) {
  const records = parseCsv(text, opts);
  if (records.length === 0) return { header: [], rows: [], blank: 0 };
  const header = records[0].fields.map((h) => h.trim());
  const rows = [];
  let blank = 0;
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    if (rec.fields.length === 1 && rec.fields[0].trim() === '') { blank++; continue; }
    rows.push(rec);
  }
  return { header, rows, blank };
}
