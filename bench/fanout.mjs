// Fan-out benchmark: N subscribers receive every reading of one sensor, from maeuld over
// WebSocket and, as the baseline in the same run, from mosquitto over MQTT QoS 0.
// A publisher sends one reading every `interval` ms for `seconds`; for maeuld it POSTs the
// reading and latency counts from the 200 (the commit) to each frame's arrival; for mosquitto
// from the publish to each message's arrival. Prints one JSON line per system. Not a test.
import { WebSocket } from 'ws';
import mqtt from 'mqtt';
import http from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const system = args.system;                 // maeuld | mosquitto
const subscribers = +(args.subscribers || 1000);
const seconds = +(args.seconds || 10);
const interval = +(args.interval || 20);    // ms between readings
const sensor = args.sensor || 'bench-0000';

const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : null);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function post(port, token, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/observations', method: 'POST', agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
    (res) => { res.resume(); res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)))); });
    req.on('error', reject);
    req.end(body);
  });
}

async function run() {
  const sentAt = new Map();   // sequence -> time of commit (maeuld) or publish (mosquitto)
  const latencies = [];
  let received = 0;
  const onValue = (seq) => {
    received++;
    const t0 = sentAt.get(seq);
    if (t0 !== undefined) latencies.push(performance.now() - t0);
  };
  const clients = [];
  if (system === 'maeuld') {
    let ready = 0;
    await new Promise((resolve, reject) => {
      for (let i = 0; i < subscribers; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${args.port}/api/v1/live?access_token=${args.token}`);
        ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', sensors: [sensor] })));
        ws.on('message', (data) => {
          const s = data.toString();
          if (s.startsWith('{"type":"subscribed"')) { if (++ready === subscribers) resolve(); return; }
          if (s.startsWith('{"type":"observation"')) onValue(JSON.parse(s).value);
        });
        ws.on('error', reject);
        clients.push(ws);
      }
    });
  } else {
    let ready = 0;
    await new Promise((resolve) => {
      for (let i = 0; i < subscribers; i++) {
        const c = mqtt.connect(`mqtt://127.0.0.1:${args.port}`, { protocolVersion: 4, reconnectPeriod: 0 });
        c.on('connect', () => c.subscribe('maeul/bench', { qos: 0 }, () => { if (++ready === subscribers) resolve(); }));
        c.on('message', (_t, payload) => onValue(JSON.parse(payload.toString()).value));
        clients.push(c);
      }
    });
  }
  const pub = system === 'mosquitto' ? mqtt.connect(`mqtt://127.0.0.1:${args.port}`) : null;
  if (pub) await new Promise((r) => pub.on('connect', r));
  const start = performance.now();
  const t0 = Date.now() - 60_000;
  let seq = 0;
  const inflight = [];
  while (performance.now() - start < seconds * 1000) {
    const s = ++seq;
    const reading = { sensor, metric: 'v', ts: new Date(t0 + s * 10).toISOString(), value: s };
    if (pub) {
      sentAt.set(s, performance.now());
      pub.publish('maeul/bench', JSON.stringify({ type: 'observation', ...reading, zone: null, domain: 'environment' }), { qos: 0 });
    } else {
      inflight.push(post(args.port, args.token, JSON.stringify({ observations: [reading] })).then(() => sentAt.set(s, performance.now())));
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  await Promise.all(inflight);
  // drain: wait until everything arrived or 3 s passed
  const expected = seq * subscribers;
  const deadline = performance.now() + 3000;
  while (received < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({ system, subscribers, readings: seq, expected, received,
    delivered_per_s: Math.round(received / elapsed), p50_ms: +pct(latencies, 0.5)?.toFixed(2), p99_ms: +pct(latencies, 0.99)?.toFixed(2) }));
  for (const c of clients) (c.terminate ? c.terminate() : c.end(true));
  if (pub) pub.end(true);
  process.exit(0);
}
run().catch((e) => { console.error(e); process.exit(1); });
