// The simulator's control endpoint, on 127.0.0.1 only (see docs/simulator.md):
//   GET    /scenario              running scenarios, and what can be started
//   POST   /scenario              {"name":"flood","zone":"downtown","duration_s":600} → 201 (200 if already running)
//   DELETE /scenario/NAME[:TARGET] (or ?zone=|sensor=|corridor=) → 204, 404 if none was running
//   GET    /status                counters of the run
// Errors are application/problem+json.

import { createServer } from 'node:http';

const LIMIT = 64 * 1024;

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, {
    ...(text ? { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' } : {}),
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function problem(res, status, title, detail, extra = {}, headers = {}) {
  send(res, status, { type: 'about:blank', title, status, detail, ...extra }, headers);
}

// handlers: list() → body; add(body) → {status, body} (may throw {status, title, detail, pointer});
// remove(name, target) → number removed; status() → body.
export function startControl({ port, host = '127.0.0.1', handlers }) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://control');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const fail = (err) => {
      if (err && err.status) problem(res, err.status, err.title || 'error', err.message, err.pointer != null ? { errors: [{ pointer: err.pointer, detail: err.message }] } : {});
      else problem(res, 500, 'internal error', String(err && err.message || err));
    };
    try {
      if (path === '/scenario' || path === '/scenarios') {
        if (req.method === 'GET' || req.method === 'HEAD') return send(res, 200, handlers.list());
        if (req.method !== 'POST') return problem(res, 405, 'method not allowed', `${req.method} ${path}`, {}, { Allow: 'GET, HEAD, POST' });
        const type = String(req.headers['content-type'] || 'application/json').split(';')[0].trim().toLowerCase();
        if (type !== 'application/json') return problem(res, 415, 'unsupported media type', 'send application/json');
        let size = 0;
        const chunks = [];
        let tooBig = false;
        req.on('data', (c) => {
          size += c.length;
          if (size > LIMIT) tooBig = true;
          else chunks.push(c);
        });
        req.on('end', () => {
          if (tooBig) return problem(res, 413, 'payload too large', `at most ${LIMIT} bytes`);
          let body;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
          } catch (err) {
            return problem(res, 400, 'malformed JSON', err.message);
          }
          try {
            const out = handlers.add(body);
            send(res, out.status, out.body);
          } catch (err) {
            fail(err);
          }
        });
        req.on('error', () => {});
        return undefined;
      }
      const m = /^\/scenarios?\/([^/]+)$/.exec(path);
      if (m) {
        if (req.method !== 'DELETE') return problem(res, 405, 'method not allowed', `${req.method} ${path}`, {}, { Allow: 'DELETE' });
        const spec = decodeURIComponent(m[1]);
        const i = spec.indexOf(':');
        const name = i < 0 ? spec : spec.slice(0, i);
        const target = i < 0 ? (url.searchParams.get('zone') || url.searchParams.get('sensor') || url.searchParams.get('corridor')) : spec.slice(i + 1);
        const n = handlers.remove(name.toLowerCase(), target || null);
        if (n === 0) return problem(res, 404, 'not found', `no running scenario ${spec}`);
        res.writeHead(204, { 'Content-Length': 0 });
        return res.end();
      }
      if (path === '/status') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return problem(res, 405, 'method not allowed', `${req.method} ${path}`, {}, { Allow: 'GET, HEAD' });
        return send(res, 200, handlers.status());
      }
      return problem(res, 404, 'not found', `no ${path} here: try GET /scenario`);
    } catch (err) {
      return fail(err);
    }
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
