// The CSV reader (RFC 4180 quoting) and the text helpers: BOM, CP949, numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv, readTable, CsvError } from '../../tools/import/lib/csv.mjs';
import { decode, parseNumber } from '../../tools/import/lib/text.mjs';

const fields = (text, opts) => parseCsv(text, opts).map((r) => r.fields);

test('plain records, CRLF, LF and lone CR line ends, no final line break', () => {
  assert.deepEqual(fields('a,b\r\n1,2\n3,4\r5,6'), [['a', 'b'], ['1', '2'], ['3', '4'], ['5', '6']]);
  assert.deepEqual(fields('a,b\n'), [['a', 'b']]);
  assert.deepEqual(fields(''), []);
});

test('quoted fields hold separators, doubled quotes and line breaks', () => {
  const recs = parseCsv('"x, y","say ""hi""","two\r\nlines"\nnext,"",end\n');
  assert.deepEqual(recs.map((r) => r.fields), [['x, y', 'say "hi"', 'two\r\nlines'], ['next', '', 'end']]);
  assert.equal(recs[1].line, 3, 'line numbers count the line break inside the quotes');
});

test('empty fields, a trailing separator, and an undeclared empty 7th field', () => {
  assert.deepEqual(fields('a,,c,\n'), [['a', '', 'c', '']]);
  assert.deepEqual(fields('"20250501","분당선","야탑","17571","18765","20250504",""'), [['20250501', '분당선', '야탑', '17571', '18765', '20250504', '']]);
});

test('malformed quoting is an error with a line number', () => {
  assert.throws(() => parseCsv('a,b\n"open,2\n'), (e) => e instanceof CsvError && e.line === 2 && /unterminated/.test(e.message));
  assert.throws(() => parseCsv('"a"b,c'), /after a closing quote/);
  assert.throws(() => parseCsv('a,b"c'), /quote inside an unquoted field/);
});

test('readTable trims header names and counts blank lines', () => {
  const t = readTable('거래일자,지역, 발전량(MWh) \n\n2018-01-01,강원도,7003\n');
  assert.deepEqual(t.header, ['거래일자', '지역', '발전량(MWh)']);
  assert.equal(t.rows.length, 1);
  assert.equal(t.blank, 1);
});

test('other separators (tab)', () => {
  assert.deepEqual(fields('a\tb\n"c\td"\te', { separator: '\t' }), [['a', 'b'], ['c\td', 'e']]);
});

test('a UTF-8 byte-order mark is stripped and reported', () => {
  const bytes = Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('"사용일자","역명"\n')]);
  const { text, bom } = decode(bytes, 'utf-8');
  assert.equal(bom, true);
  assert.equal(text.charCodeAt(0), 0x22);
  assert.deepEqual(readTable(text).header, ['사용일자', '역명']);
  assert.equal(decode(Buffer.from('abc'), 'utf-8').bom, false);
});

test('CP949: EUC-KR syllables and the CP949-only extended syllables; bad bytes are an error', () => {
  // 거래일자 (KS X 1001 range), then 똠 (0x8C63), 힝 (0xC8FE, last KS X 1001 syllable), 갂 (0x8141, first
  // extension code) and 힣 (0xC652, last extension code)
  const bytes = Buffer.from([0xb0, 0xc5, 0xb7, 0xa1, 0xc0, 0xcf, 0xc0, 0xda, 0x2c, 0x8c, 0x63, 0xc8, 0xfe, 0x81, 0x41, 0xc6, 0x52]);
  assert.equal(decode(bytes, 'cp949').text, '거래일자,똠힝갂힣');
  assert.throws(() => decode(Buffer.from([0x41, 0x81, 0x20]), 'cp949'), /invalid CP949 byte sequence at offset 1/);
  assert.throws(() => decode(Buffer.from([0x41, 0xb0]), 'cp949'), /offset 1/, 'a lead byte at the end');
  assert.throws(() => decode(Buffer.from([0xff, 0xff]), 'utf-8'), TypeError, 'invalid UTF-8 is an error, not U+FFFD');
});

test('CP949: code points checked against the CP949 table', () => {
  // (values from the CP949 code page: Python's and glibc iconv's cp949 agree; the importer's decoder
  // was also checked against iconv on all 11,172 syllables and on korea-thermal-power.csv)
  const known = { 0xac00: [0xb0, 0xa1], 0xac02: [0x81, 0x41], 0xb620: [0x8c, 0x63], 0xd7a2: [0xc6, 0x51], 0xd7a3: [0xc6, 0x52], 0xd79d: [0xc8, 0xfe] };
  for (const [cp, b] of Object.entries(known)) {
    assert.equal(decode(Buffer.from(b), 'cp949').text, String.fromCodePoint(Number(cp)), b.map((x) => x.toString(16)).join(' '));
  }
});

test('parseNumber is strict', () => {
  assert.equal(parseNumber(' 0.018 '), 0.018);
  assert.equal(parseNumber('-3'), -3);
  assert.equal(parseNumber('1e3'), 1000);
  for (const bad of ['', '-', 'N/A', '1,234', '0x10', 'Infinity', '12abc']) assert.ok(Number.isNaN(parseNumber(bad)), bad);
});
