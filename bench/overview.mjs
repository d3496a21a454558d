// The dashboard overview's KPI tiles, timed as the page loads them (web/src/kpis.js kpiSummary):
// GET /api/v1/kpis, then every KPI's values in its own period over its trend span, all at once,
// over at most 6 keep-alive connections (a browser's limit per origin for HTTP/1.1). One round is
// the time until the last tile has its values. Prints JSON: rounds, p50, p95, max (ms), and the
// slowest request of the slowest round.
// node bench/overview.mjs --port P --token T [--rounds 60] [--now 2026-12-07T00:00:00Z]
import http from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (i % 2 ? a : [...a, [v.replace(/^--/, ''), all[i + 1]]]), []));
const port = Number(args.port);
const rounds = Number(args.rounds || 60);
const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
const TREND_SPAN_DAYS = { day: 14, week: 56, month: 186, year: 1830 };  // as web/src/kpis.js

function get(path) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { Authorization: `Bearer ${args.token}` } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${path}: ${res.statusCode} ${Buffer.concat(chunks)}`));
        resolve({ ms: performance.now() - t0, body: JSON.parse(Buffer.concat(chunks)), path });
      });
    });
    req.on('error', reject);
  });
}

async function round() {
  const t0 = performance.now();
  const cat = await get('/api/v1/kpis');
  const now = args.now ? Date.parse(args.now) : Date.now();
  const tiles = await Promise.all(cat.body.items.map((k) => {
    const period = TREND_SPAN_DAYS[k.period] ? k.period : 'day';
    const from = new Date(now - TREND_SPAN_DAYS[period] * 86400000).toISOString();
    const to = new Date(now).toISOString();
    return get(`/api/v1/kpis/${encodeURIComponent(k.id)}/values?period=${period}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  }));
  return { ms: performance.now() - t0, tiles, kpis: cat.body.items.length };
}

const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]; };
await round();  // warm-up
const times = []; let worst = null; let kpis = 0; let values = 0;
for (let i = 0; i < rounds; i++) {
  const r = await round();
  times.push(r.ms);
  kpis = r.kpis;
  values = r.tiles.reduce((n, t) => n + t.body.values.length, 0);
  if (!worst || r.ms > worst.ms) worst = r;
}
const slow = worst.tiles.reduce((a, b) => (a.ms > b.ms ? a : b));
console.log(JSON.stringify({ rounds, kpis, values_per_round: values, p50: +q(times, 0.5).toFixed(1), p95: +q(times, 0.95).toFixed(1),
  max: +Math.max(...times).toFixed(1), slowest_request: { path: slow.path.split('?')[0], ms: +slow.ms.toFixed(1) } }));
agent.destroy();
