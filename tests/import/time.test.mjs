// Wall-clock times: hour 24, "24:00", time zones with DST, RFC 3339 output; Hangul ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWall, localToUtc, rfc3339, wallOf } from '../../tools/import/lib/time.mjs';
import { romanize, slug } from '../../tools/import/lib/hangul.mjs';

const at = (tz, s) => {
  const r = localToUtc(tz, parseWall(s));
  return { ...r, ts: r.ms === null ? null : rfc3339(r.ms, r.offset) };
};

test('"24:00" is 00:00 of the next day, also across a month and a year', () => {
  assert.equal(at('Asia/Seoul', '2018-01-01 24:00').ts, '2018-01-02T00:00:00+09:00');
  assert.equal(at('Asia/Seoul', '2020-02-29 24:00').ts, '2020-03-01T00:00:00+09:00');
  assert.equal(at('Asia/Seoul', '2022-12-31 24:00').ts, '2023-01-01T00:00:00+09:00');
  assert.equal(at('Asia/Seoul', '2018-01-01 01:00').ts, '2018-01-01T01:00:00+09:00');
});

test('impossible times are refused', () => {
  for (const s of ['2018-01-01 24:30', '2018-01-01 25:00', '2019-02-29 01:00', '2018-13-01', '2018-01-01 12:60', 'yesterday', '']) {
    assert.equal(parseWall(s), null, s);
  }
  assert.equal(wallOf(2018, 1, 1, 24, 0, 1), null);
  assert.notEqual(parseWall('20250501'), null);
});

test('America/Chicago: CST/CDT offsets, the repeated and the skipped hour', () => {
  assert.equal(at('America/Chicago', '2013-01-15 09:00').ts, '2013-01-15T09:00:00-06:00');
  assert.equal(at('America/Chicago', '2013-07-15 09:00').ts, '2013-07-15T09:00:00-05:00');
  const amb = at('America/Chicago', '2012-11-04 01:00');
  assert.equal(amb.status, 'ambiguous');
  assert.equal(amb.ts, '2012-11-04T01:00:00-05:00', 'the first (CDT) instant');
  assert.equal(rfc3339(amb.later.ms, amb.later.offset), '2012-11-04T01:00:00-06:00');
  assert.equal(at('America/Chicago', '2013-03-10 02:00').status, 'nonexistent');
  assert.equal(at('America/Chicago', '2013-03-10 03:00').ts, '2013-03-10T03:00:00-05:00');
  // one hour apart as instants though the wall clock jumps two
  assert.equal(at('America/Chicago', '2013-03-10 03:00').ms - at('America/Chicago', '2013-03-10 01:00').ms, 3600000);
});

test('Europe/Madrid in winter is +01:00', () => {
  assert.equal(at('Europe/Madrid', '2011-11-28 02:27:59').ts, '2011-11-28T02:27:59+01:00');
});

test('romanized ids', () => {
  assert.equal(romanize('강남'), 'gangnam');
  assert.equal(slug('신림'), 'sillim');
  assert.equal(slug('종로3가'), 'jongno3ga');
  assert.equal(slug('왕십리'), 'wangsimni');
  assert.equal(slug('강변(동서울터미널)'), 'gangbyeon-dongseoulteomineol');
  assert.equal(slug('4.19민주묘지'), '4-19minjumyoji');
});
