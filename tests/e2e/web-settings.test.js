'use strict';
// The dashboard's settings ([web] in the config): a base map's tile URL is refused at start unless it is an
// https:// XYZ template, and a good one reaches the dashboard as <meta> tags of the served index.html.
// Contract: docs/operations.md "Settings" (web.tiles), web/README.md "Offline, maps and deployment settings".

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/harness');

describe('web.tiles', () => {
  let db;
  let webRoot;
  before(() => {
    db = h.createDatabase('webtiles');
    webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'maeul-web-'));
    fs.writeFileSync(path.join(webRoot, 'index.html'),
      '<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>t</title></head><body></body></html>');
  });
  after(() => {
    h.dropDatabase(db);
    fs.rmSync(webRoot, { recursive: true, force: true });
  });

  function oneLine(r) {
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `exactly one stderr line, got ${lines.length}: ${r.stderr}`);
    return lines[0];
  }

  for (const [bad, why] of [
    ['http://tiles.example.org/{z}/{x}/{y}.png', /https/],
    ['https://tiles.example.org/tiles.png', /\{z\}, \{x\} and \{y\}/],
    ['https://tiles.example.org/{z}/{x}.png', /\{z\}, \{x\} and \{y\}/],
    ['tiles.example.org/{z}/{x}/{y}.png', /https/],
    ['https://tiles.example.org/{z}/{x}/{y}.png?a="><script>', /quotes|angle/],
  ]) {
    test(`MAEUL_WEB_TILES=${bad} → exit 1, one line naming web.tiles`, async () => {
      const r = await h.runMaeuld(['serve', '--config', h.CONFIG], h.daemonEnv(db, { MAEUL_WEB_TILES: bad }), 10000);
      assert.equal(r.timedOut, false, 'exits by itself');
      assert.equal(r.code, 1, `exit code 1 (config); stderr: ${r.stderr}`);
      const line = oneLine(r);
      assert.match(line, /web\.tiles/, 'the line names the setting');
      assert.match(line, why);
    });
  }

  test('a good template reaches the dashboard as <meta> tags of index.html (attribution escaped)', async () => {
    const d = await h.startDaemon({
      db,
      env: {
        MAEUL_HTTP_WEB_ROOT: webRoot,
        MAEUL_WEB_TILES: 'https://{s}.tiles.example.org/base/{z}/{x}/{y}.png',
        MAEUL_WEB_TILES_ATTRIBUTION: '© City & "Friends" <b>',
        MAEUL_WEB_TILES_MAX_ZOOM: '17',
      },
    });
    try {
      for (const p of ['/', '/map']) {
        const res = await fetch(d.url + p, { headers: { accept: 'text/html' } });
        assert.equal(res.status, 200, `GET ${p}`);
        const html = await res.text();
        assert.match(html, /<meta name="maeul-tile-url" content="https:\/\/\{s\}\.tiles\.example\.org\/base\/\{z\}\/\{x\}\/\{y\}\.png">/);
        assert.match(html, /<meta name="maeul-tile-attribution" content="© City &amp; &quot;Friends&quot; &lt;b&gt;">/);
        assert.match(html, /<meta name="maeul-tile-max-zoom" content="17">/);
        assert.ok(html.indexOf('maeul-tile-url') < html.indexOf('</head>'), 'inside <head>');
      }
    } finally {
      assert.equal(await d.stop(), 0);
    }
  });

  test('no web.tiles: index.html as built, without tile tags', async () => {
    const d = await h.startDaemon({ db, env: { MAEUL_HTTP_WEB_ROOT: webRoot } });
    try {
      const res = await fetch(`${d.url}/`, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.doesNotMatch(html, /maeul-tile/);
    } finally {
      assert.equal(await d.stop(), 0);
    }
  });
});
