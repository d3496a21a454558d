'use strict';
// Hostile bodies at the ingestion door (issue #10, "Bad input and attacks"): an NDJSON line is held
// to the same depth and size limits as a JSON body, refused before any parser sees it, with memory
// flat, and the server keeps serving.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');

describe('NDJSON lines under the JSON limits', () => {
  const ctx = h.useDaemon('edge-input');

  const rss = async (d) => h.parseProm((await h.request(d, 'GET', '/metrics', { token: d.bootstrapToken })).text)
    .find((s) => s.name === 'process_resident_memory_bytes').value;

  test('an 8 MiB NDJSON line of "[" is 400, five times over, with memory flat', async () => {
    const d = ctx.d;
    await I.makeSensor(d, 'ei-1', { domain: 'environment', kind: 'probe', location: h.point(127.2, 37.2), metrics: [{ name: 'v', unit: '1' }] });
    const body = Buffer.alloc(8 * 1024 * 1024 - 1024, '[');
    const before = await rss(d);
    for (let i = 0; i < 5; i++) {
      const res = await h.request(d, 'POST', '/api/v1/observations', {
        token: d.bootstrapToken, rawBody: body, headers: { 'content-type': 'application/x-ndjson' },
      });
      h.assertProblem(res, 400, 'malformed-json');
      assert.match(res.json.detail, /line 1 .*(nested deeper|longer than)/);
    }
    const after = await rss(d);
    // The bodies themselves are 8 MiB each; a parser building 8 million nested arrays would take gigabytes.
    assert.ok(after - before < 64 * 1024 * 1024, `resident memory grew by ${((after - before) / 1048576).toFixed(1)} MiB`);
    // Good data still goes in.
    const ok = await I.postObs(d, d.bootstrapToken, [{ sensor: 'ei-1', metric: 'v', ts: new Date().toISOString(), value: 1 }], { format: 'ndjson' });
    I.assertIngest(ok, { accepted: 1, rejected: [] });
  });

  test('a line nested 65 deep is refused, one nested 63 deep is only a rejected reading', async () => {
    const d = ctx.d;
    const deep = `${'['.repeat(65)}${']'.repeat(65)}`;
    const res = await h.request(d, 'POST', '/api/v1/observations', {
      token: d.bootstrapToken, rawBody: Buffer.from(deep), headers: { 'content-type': 'application/x-ndjson' },
    });
    h.assertProblem(res, 400, 'malformed-json');
    const good = JSON.stringify({ sensor: 'ei-1', metric: 'v', ts: new Date(Date.now() - 1000).toISOString(), value: 2 });
    const shallow = `${'['.repeat(63)}${']'.repeat(63)}`;
    const mixed = await h.request(d, 'POST', '/api/v1/observations', {
      token: d.bootstrapToken, rawBody: Buffer.from(`${good}\n${shallow}\n`), headers: { 'content-type': 'application/x-ndjson' },
    });
    const b = I.assertIngest(mixed, { accepted: 1, rejected: [1] });
    assert.ok(b.rejected[0].pointer.startsWith('/1'), JSON.stringify(b.rejected));
  });
});
