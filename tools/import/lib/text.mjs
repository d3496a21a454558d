// Bytes to text: byte-order marks and legacy Korean encodings.
import { readFileSync } from 'node:fs';

// decode(bytes, encoding) -> {text, bom}. encoding: 'utf-8' (a UTF-8 BOM is stripped and
// reported) or 'cp949' (Windows code page 949 = EUC-KR plus the 8,822 "extended" Hangul
// syllables). Invalid bytes are an error, not U+FFFD.
export function decode(bytes, encoding = 'utf-8') {
  const enc = encoding.toLowerCase();
  if (enc === 'utf-8' || enc === 'utf8') {
    const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bom ? bytes.subarray(3) : bytes);
    return { text, bom };
  }
  if (enc === 'cp949' || enc === 'euc-kr' || enc === 'uhc') return { text: decodeCp949(bytes), bom: false };
  throw new Error(`unsupported encoding ${encoding}`);
}

// CP949. Node 20's TextDecoder('euc-kr') comes from ICU and on this build is plain EUC-KR: it does
// not know CP949's extended syllables (e.g. 0x8C63 "똠" comes out as "c") and ignores `fatal`. So
// the KS X 1001 part of the table is taken from TextDecoder once, checked pair by pair, and the
// extension is computed: CP949 places the 8,822 Hangul syllables missing from KS X 1001 in Unicode
// order at leads 0x81-0xC6, trails 0x41-0x5A, 0x61-0x7A, 0x81-0xFE (leads 0xA1-0xC6: trails up to 0xA0).
let cp949Table = null; // Uint16Array indexed by (lead << 8 | trail), 0 = unmapped
function cp949() {
  if (cp949Table) return cp949Table;
  const table = new Uint16Array(65536);
  // KS X 1001 part (leads/trails 0xA1-0xFE) via the platform decoder, one pair between newlines
  const pairs = [];
  for (let lead = 0xa1; lead <= 0xfe; lead++) for (let trail = 0xa1; trail <= 0xfe; trail++) pairs.push([lead, trail]);
  const buf = Buffer.alloc(pairs.length * 3);
  pairs.forEach(([l, t], i) => { buf[i * 3] = l; buf[i * 3 + 1] = t; buf[i * 3 + 2] = 0x0a; });
  const parts = new TextDecoder('euc-kr').decode(buf).split('\n');
  if (parts.length - 1 !== pairs.length) throw new Error('this Node cannot decode EUC-KR (TextDecoder euc-kr)');
  const known = new Set();
  pairs.forEach(([l, t], i) => {
    const p = parts[i];
    if (p.length === 1 && p.charCodeAt(0) >= 0x80 && p !== '\ufffd') {
      table[(l << 8) | t] = p.charCodeAt(0);
      known.add(p.charCodeAt(0));
    }
  });
  let syllable = 0xac00;
  const next = () => { while (syllable <= 0xd7a3 && known.has(syllable)) syllable++; return syllable <= 0xd7a3 ? syllable++ : 0; };
  for (let lead = 0x81; lead <= 0xc6; lead++) {
    for (let trail = 0x41; trail <= 0xfe; trail++) {
      if ((trail > 0x5a && trail < 0x61) || (trail > 0x7a && trail < 0x81)) continue;
      if (lead >= 0xa1 && trail > 0xa0) break;
      const u = next();
      if (!u) break;
      table[(lead << 8) | trail] = u;
    }
  }
  if (next() !== 0) throw new Error('CP949 extension table does not add up (the platform EUC-KR table is incomplete)');
  cp949Table = table;
  return table;
}

export function decodeCp949(bytes) {
  const table = cp949();
  const units = new Uint16Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x80) { units[n++] = b; continue; }
    const u = i + 1 < bytes.length ? table[(b << 8) | bytes[i + 1]] : 0;
    if (!u) throw new TypeError(`invalid CP949 byte sequence at offset ${i}: 0x${b.toString(16)}${i + 1 < bytes.length ? ` 0x${bytes[i + 1].toString(16)}` : ''}`);
    units[n++] = u;
    i++;
  }
  return new TextDecoder('utf-16le').decode(units.subarray(0, n));
}

export function readText(path, encoding) {
  return decode(readFileSync(path), encoding);
}

// A strict decimal number: optional sign, digits, optional fraction, optional exponent.
// Returns NaN for anything else ('', '-', 'N/A', '1,234', ' 12 ' is trimmed first).
const NUM = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
export function parseNumber(s) {
  const t = String(s).trim();
  return NUM.test(t) ? Number(t) : NaN;
}
