'use strict';
// The KPI routes' surface: the catalogue (GET /api/v1/kpis), validation of GET /api/v1/kpis/{id}/values
// (period, from, to → 422 with errors[].parameter; unknown KPI → 404), roles on every KPI and budget
// route, budget line CRUD with validation pointers, and the public routes without a token (shape,
// ETag, If-None-Match → 304). Contract: shared/API.md §3, §7; docs/api-notes.md "KPIs".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const K = require('./lib/kpi-helpers');

const KPI_IDS = [
  'bus_excess_wait_time', 'bus_headway_regularity', 'electricity_per_capita', 'emergency_response_time',
  'living_zone_9min_coverage', 'pm25_bad_days', 'renewable_share',
  'sensor_availability', 'transit_boardings_per_capita', 'travel_time_index', 'welfare_ack_time',
];
const DOMAINS = ['mobility', 'energy', 'welfare', 'disaster', 'environment'];

describe('KPI routes: catalogue, validation, roles, budget, public', () => {
  const ctx = h.useDaemon('kpi_api');
  let T;
  const tok = {};

  before(async () => {
    T = ctx.d.bootstrapToken;
    tok.admin = T;
    for (const role of ['operator', 'analyst', 'welfare_officer', 'device']) tok[role] = (await h.createToken(ctx.d, role, `kpi-api-${role}`)).token;
    h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody('api-z', { population: 10 }) }), 201);
  });

  test('GET /api/v1/kpis: the eleven KPIs with names, domain, unit, direction, target, period, standard, description', async () => {
    const b = await I.getJson(ctx.d, tok.analyst, '/api/v1/kpis');
    assert.ok(Array.isArray(b.items));
    assert.deepEqual(b.items.map((k) => k.id).sort(), KPI_IDS);
    for (const k of b.items) {
      assert.ok(typeof k.name.ko === 'string' && k.name.ko && typeof k.name.en === 'string' && k.name.en, `${k.id}: name.ko/en`);
      assert.ok(DOMAINS.includes(k.domain), `${k.id}: domain ${k.domain}`);
      assert.equal(typeof k.unit, 'string', `${k.id}: unit`);
      assert.ok(['lower_is_better', 'higher_is_better'].includes(k.direction), `${k.id}: direction ${k.direction}`);
      assert.equal(typeof k.target, 'number', `${k.id}: target`);
      assert.ok(K.PERIODS.includes(k.period), `${k.id}: period ${k.period}`);
      assert.ok(typeof k.standard === 'string' && k.standard, `${k.id}: standard`);
      assert.ok(k.description && k.description.ko && k.description.en, `${k.id}: description.ko/en`);
    }
    const by = Object.fromEntries(b.items.map((k) => [k.id, k]));
    assert.equal(by.emergency_response_time.standard, 'ISO 37120:2018 15.7');
    assert.equal(by.emergency_response_time.direction, 'lower_is_better');
    assert.equal(by.renewable_share.direction, 'higher_is_better');
    assert.match(by.pm25_bad_days.description.en, /35/);
    assert.match(by.travel_time_index.description.en, /free_flow_s/);
    assert.match(by.sensor_availability.description.en, /interval_s/);
  });

  test('values: period validation → 422 with errors[].parameter', async () => {
    const d = ctx.d;
    const bad = [
      ['period=hour', 'period'], ['period=', 'period'], ['period=DAY', 'period'], ['period=days', 'period'],
      ['from=yesterday', 'from'], ['from=2026-03-01', 'from'], ['to=2026-03-01T00:00:00', 'to'], ['to=abc', 'to'],
    ];
    for (const [q, p] of bad) h.assertBadParam(await h.request(d, 'GET', `/api/v1/kpis/electricity_per_capita/values?${q}`, { token: tok.analyst }), p);
    const rev = await h.request(d, 'GET', '/api/v1/kpis/electricity_per_capita/values?from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z', { token: tok.analyst });
    const b = h.assertProblem(rev, 422, 'invalid');
    assert.ok(b.errors.some((e) => e.parameter === 'from' || e.parameter === 'to'), `from after to: ${rev.text}`);
    for (const period of K.PERIODS) {
      const ok = await K.getValues(d, tok.analyst, 'electricity_per_capita', { period, from: '2026-01-01T00:00:00+09:00', to: '2026-02-01T00:00:00+09:00' });
      assert.deepEqual(ok.values, [], `${period}: no readings, no values`);
    }
  });

  test('unknown KPI → 404 (JSON and CSV)', async () => {
    for (const p of ['/api/v1/kpis/no_such_kpi/values', '/api/v1/kpis/no_such_kpi/values?period=day', '/api/v1/kpis/no_such_kpi/values?format=csv']) {
      h.assertProblem(await h.request(ctx.d, 'GET', p, { token: tok.analyst }), 404, 'not-found');
    }
    h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/kpis/no_such_kpi/values', { token: tok.analyst, headers: { accept: 'text/csv' } }), 404, 'not-found');
  });

  test('roles on the KPI routes: readers 200, device 403, no or unknown token 401', async () => {
    const d = ctx.d;
    const paths = ['/api/v1/kpis', '/api/v1/kpis/pm25_bad_days/values?period=month', '/api/v1/kpis/pm25_bad_days/values?format=csv',
      '/api/v1/zones/api-z/accessibility?minutes=9', '/api/v1/budget', '/api/v1/budget?year=2026'];
    for (const p of paths) {
      for (const role of ['admin', 'analyst']) h.assertStatus(await h.request(d, 'GET', p, { token: tok[role] }), 200, `${role} GET ${p}`);
      h.assertProblem(await h.request(d, 'GET', p, { token: tok.device }), 403, 'forbidden');
      const anon = await h.request(d, 'GET', p);
      h.assertProblem(anon, 401, 'unauthorized');
      assert.match(anon.headers.get('www-authenticate') || '', /^Bearer/i, `WWW-Authenticate on ${p}`);
      h.assertProblem(await h.request(d, 'GET', p, { token: 'not-a-real-token-0123456789' }), 401, 'unauthorized');
    }
    for (const role of ['operator', 'welfare_officer']) {
      for (const p of paths.slice(0, 3)) h.assertStatus(await h.request(d, 'GET', p, { token: tok[role] }), 200, `${role} GET ${p}`);
    }
  });

  test('budget: create, read, list by year, replace, delete', async () => {
    const d = ctx.d;
    const body = { id: 'bl-bus-2026', program: { ko: '버스 개선', en: 'Better buses' }, year: 2026, amount_krw: 250000000,
      kpis: [{ kpi: 'transit_boardings_per_capita', target: 0.5 }, { kpi: 'travel_time_index', target: 1.2 }] };
    const res = await h.request(d, 'POST', '/api/v1/budget', { token: T, body });
    const b = h.assertJson(res, 201);
    assert.equal(res.headers.get('location'), '/api/v1/budget/bl-bus-2026', 'Location');
    for (const k of ['id', 'program', 'year', 'amount_krw', 'kpis']) assert.deepEqual(b[k], body[k], k);
    h.assertTimes(b);
    const gen = await h.request(d, 'POST', '/api/v1/budget', { token: T, body: { program: { ko: '대기질', en: 'Air' }, year: 2025, amount_krw: 0, kpis: [] } });
    const g = h.assertJson(gen, 201);
    assert.ok(typeof g.id === 'string' && g.id.length > 0, 'a generated id');
    assert.equal(gen.headers.get('location'), `/api/v1/budget/${encodeURIComponent(g.id)}`);
    h.assertProblem(await h.request(d, 'POST', '/api/v1/budget', { token: T, body }), 409, 'conflict');

    assert.deepEqual(await I.getJson(d, tok.analyst, '/api/v1/budget/bl-bus-2026'), b, 'GET one');
    const y2026 = await I.getJson(d, tok.analyst, '/api/v1/budget?year=2026');
    assert.deepEqual(y2026.items.map((x) => x.id), ['bl-bus-2026']);
    assert.equal(y2026.next_cursor, null);
    const all = await h.listAll(d, '/api/v1/budget', tok.analyst, 1);
    assert.deepEqual(all.map((x) => x.id).sort(), ['bl-bus-2026', g.id].sort(), 'walk with limit=1');
    h.assertBadParam(await h.request(d, 'GET', '/api/v1/budget?year=twenty', { token: tok.analyst }), 'year');

    const repl = { ...body, amount_krw: 300000000, kpis: [{ kpi: 'travel_time_index', target: 1.1 }] };
    const put = h.assertJson(await h.request(d, 'PUT', '/api/v1/budget/bl-bus-2026', { token: T, body: repl }), 200);
    assert.equal(put.amount_krw, 300000000);
    assert.deepEqual(put.kpis, repl.kpis);
    assert.equal(put.created_at, b.created_at, 'created_at kept');
    assert.ok(put.updated_at >= b.updated_at, 'updated_at moves');
    assert.deepEqual(await I.getJson(d, tok.analyst, '/api/v1/budget/bl-bus-2026'), put, 'GET after PUT');
    h.assertProblem(await h.request(d, 'PUT', '/api/v1/budget/no-such-line', { token: T, body: { ...repl, id: 'no-such-line' } }), 404, 'not-found');
    h.assertInvalid(await h.request(d, 'PUT', '/api/v1/budget/bl-bus-2026', { token: T, body: { ...repl, id: 'other' } }), '/id');

    h.assertStatus(await h.request(d, 'DELETE', `/api/v1/budget/${encodeURIComponent(g.id)}`, { token: T }), 204);
    h.assertProblem(await h.request(d, 'GET', `/api/v1/budget/${encodeURIComponent(g.id)}`, { token: T }), 404, 'not-found');
    h.assertProblem(await h.request(d, 'DELETE', `/api/v1/budget/${encodeURIComponent(g.id)}`, { token: T }), 404, 'not-found');
  });

  test('budget validation: 422 pointers, 400 malformed JSON, 415 other media types', async () => {
    const d = ctx.d;
    const ok = { program: { en: 'x' }, year: 2026, amount_krw: 5, kpis: [] };
    const cases = [
      [{ ...ok, program: undefined }, '/program'],
      [{ ...ok, program: {} }, '/program'],
      [{ ...ok, year: 'x' }, '/year'],
      [{ ...ok, year: 2026.5 }, '/year'],
      [{ ...ok, amount_krw: -1 }, '/amount_krw'],
      [{ ...ok, amount_krw: 1.5 }, '/amount_krw'],
      [{ ...ok, amount_krw: '5' }, '/amount_krw'],
      [{ ...ok, kpis: 'none' }, '/kpis'],
      [{ ...ok, kpis: [{ kpi: 'no_such_kpi', target: 1 }] }, '/kpis/0/kpi'],
      [{ ...ok, kpis: [{ kpi: 'renewable_share', target: 20 }, { kpi: 'renewable_share', target: 'high' }] }, '/kpis/1/target'],
      [{ ...ok, id: 'not an id!' }, '/id'],
    ];
    for (const [body, ptr] of cases) {
      h.assertInvalid(await h.request(d, 'POST', '/api/v1/budget', { token: T, body: JSON.parse(JSON.stringify(body)) }), ptr);
    }
    const many = h.assertInvalid(await h.request(d, 'POST', '/api/v1/budget', { token: T, body: { year: 'x', amount_krw: -1 } }));
    for (const p of ['/program', '/year', '/amount_krw']) assert.ok(many.errors.some((e) => e.pointer === p), `all errors reported: ${p}`);
    h.assertProblem(await h.request(d, 'POST', '/api/v1/budget', { token: T, rawBody: '{"program":', headers: { 'content-type': 'application/json' } }), 400, 'malformed-json');
    h.assertProblem(await h.request(d, 'POST', '/api/v1/budget', { token: T, rawBody: 'program=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported-media-type');
    assert.deepEqual((await I.getJson(d, T, '/api/v1/budget?year=2026')).items.filter((x) => x.program && x.program.en === 'x'), [], 'nothing stored');
  });

  test('budget writes are admin-only; analysts read; devices and anonymous callers get nothing', async () => {
    const d = ctx.d;
    const body = { id: 'bl-roles', program: { en: 'Roles' }, year: 2026, amount_krw: 1, kpis: [] };
    for (const role of ['operator', 'analyst', 'welfare_officer', 'device']) {
      h.assertProblem(await h.request(d, 'POST', '/api/v1/budget', { token: tok[role], body }), 403, 'forbidden');
    }
    h.assertProblem(await h.request(d, 'POST', '/api/v1/budget', { body }), 401, 'unauthorized');
    h.assertStatus(await h.request(d, 'POST', '/api/v1/budget', { token: T, body }), 201);
    for (const role of ['operator', 'analyst', 'welfare_officer', 'device']) {
      h.assertProblem(await h.request(d, 'PUT', '/api/v1/budget/bl-roles', { token: tok[role], body: { ...body, amount_krw: 2 } }), 403, 'forbidden');
      h.assertProblem(await h.request(d, 'DELETE', '/api/v1/budget/bl-roles', { token: tok[role] }), 403, 'forbidden');
    }
    h.assertProblem(await h.request(d, 'DELETE', '/api/v1/budget/bl-roles'), 401, 'unauthorized');
    h.assertStatus(await h.request(d, 'GET', '/api/v1/budget/bl-roles', { token: tok.analyst }), 200);
    h.assertProblem(await h.request(d, 'GET', '/api/v1/budget/bl-roles', { token: tok.device }), 403, 'forbidden');
    assert.equal((await I.getJson(d, T, '/api/v1/budget/bl-roles')).amount_krw, 1, 'unchanged');
  });

  test('GET /public/v1/kpis without a token: documented shape', async () => {
    const res = await h.request(ctx.d, 'GET', '/public/v1/kpis');
    const b = h.assertJson(res, 200);
    assert.ok(res.headers.get('etag'), 'ETag');
    assert.equal(typeof b.city, 'string', 'city');
    assert.deepEqual(b.items.map((x) => x.kpi).sort(), KPI_IDS);
    for (const x of b.items) {
      for (const k of ['kpi', 'name', 'unit', 'direction', 'target', 'city', 'zones']) assert.ok(k in x, `${x.kpi}: ${k}`);
      assert.ok(Array.isArray(x.zones));
      if (x.city !== null) for (const k of ['value', 'start']) assert.ok(k in x.city, `${x.kpi}: city.${k}`);
    }
    assert.ok(typeof b.generated_at === 'string' && h.TIME_RE.test(b.generated_at), `generated_at (docs/api-notes.md: {"city","generated_at","items"}): ${JSON.stringify(Object.keys(b))}`);
  });

  test('public report without a token: shape; year defaults, validation', async () => {
    const d = ctx.d;
    h.assertStatus(await h.request(d, 'POST', '/api/v1/budget', { token: T, body: { id: 'bl-pub', program: { ko: '공개', en: 'Public' }, year: 2026, amount_krw: 42, kpis: [{ kpi: 'pm25_bad_days', target: 2 }] } }), 201);
    const res = await h.request(d, 'GET', '/public/v1/report?year=2026');
    const b = h.assertJson(res, 200);
    assert.equal(b.year, 2026);
    const p = b.programs.find((x) => x.amount_krw === 42);
    assert.ok(p, `the line is in the report: ${res.text.slice(0, 400)}`);
    assert.deepEqual(p.program, { ko: '공개', en: 'Public' });
    const k = p.kpis.find((x) => x.kpi === 'pm25_bad_days');
    assert.ok(k && k.target === 2 && 'start_value' in k && 'latest_value' in k && 'progress' in k, JSON.stringify(p.kpis));
    assert.equal(k.start_value, null, 'no data: no start value');
    assert.equal(k.progress, null, 'no data: no progress');
    assert.ok(res.headers.get('etag'), 'ETag');
    assert.deepEqual((await I.getJson(d, undefined, '/public/v1/report?year=2031')).programs, [], 'a year without lines');
    const thisYear = new Date(Date.now() + K.TZ_OFFSET).getUTCFullYear();
    assert.equal((await I.getJson(d, undefined, '/public/v1/report')).year, thisYear, 'year defaults to the city\'s current year');
    for (const y of ['abc', '1999', '2101', '2026.5']) h.assertBadParam(await h.request(d, 'GET', `/public/v1/report?year=${y}`), 'year');
  });

  test('public routes: ETag and If-None-Match → 304 (exact, in a list, weak, *); another tag → 200', async () => {
    const d = ctx.d;
    // (the public summary is slow to compute, so this asks for it as few times as it can)
    const tags = {};
    for (const p of ['/public/v1/kpis', '/public/v1/report?year=2026']) {
      const res = await h.request(d, 'GET', p);
      h.assertStatus(res, 200);
      const etag = res.headers.get('etag');
      assert.ok(etag && /^(W\/)?"[^"]*"$/.test(etag), `${p}: ETag ${etag}`);
      tags[p] = etag;
      const nm = await h.request(d, 'GET', p, { headers: { 'if-none-match': etag } });
      h.assertStatus(nm, 304, `${p}: If-None-Match: ${etag}`);
      assert.equal(nm.text, '', '304 without a body');
      assert.equal(nm.headers.get('etag'), etag, '304 repeats the ETag');
    }
    h.assertStatus(await h.request(d, 'GET', '/public/v1/report?year=2026', { headers: { 'if-none-match': '"something-else"' } }), 200, 'another ETag');
    // RFC 9110 §13.1.2: a list of tags, weak comparison, and "*" all match
    const fails = [];
    for (const [p, etag] of Object.entries(tags)) {
      const strong = etag.replace(/^W\//, '');
      for (const inm of [`"other", ${etag}`, `W/${strong}`, '*']) {
        const r = await h.request(d, 'GET', p, { headers: { 'if-none-match': inm } });
        if (r.status !== 304) fails.push(`${p} If-None-Match: ${inm} → ${r.status}`);
      }
    }
    assert.ok(fails.length === 0, `If-None-Match per RFC 9110 §13.1.2:\n  ${fails.join('\n  ')}`);
  });

  test('the ETag changes when the public data changes', async () => {
    const d = ctx.d;
    const before1 = (await h.request(d, 'GET', '/public/v1/report?year=2026')).headers.get('etag');
    h.assertStatus(await h.request(d, 'POST', '/api/v1/budget', { token: T, body: { id: 'bl-etag', program: { en: 'ETag' }, year: 2026, amount_krw: 7, kpis: [] } }), 201);
    await h.pollUntil(async () => {
      const r = await h.request(d, 'GET', '/public/v1/report?year=2026', { headers: { 'if-none-match': before1 } });
      return r.status === 200 && r.json.programs.some((x) => x.amount_krw === 7);
    }, { timeoutMs: 5000, what: 'a new report (200, not 304) after a budget change' });
  });
});
