// The daemon's HTTP ingest path: sensors (POST /api/v1/sensors) and readings
// (POST /api/v1/observations, application/json), with bounded concurrency.

export class HttpFailure extends Error {
  constructor(message, { status = null, code = 1 } = {}) {
    super(message);
    this.status = status;
    this.code = code; // process exit code: 1 HTTP error, 2 server unreachable
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Client {
  constructor(url, token, { timeoutMs = 120000 } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.token = token;
    this.timeoutMs = timeoutMs;
  }

  async request(method, path, body) {
    let res;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          Accept: 'application/json, application/problem+json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = err.cause ? ` (${err.cause.code || err.cause.message})` : '';
      throw new HttpFailure(`${method} ${path}: cannot reach ${this.url}: ${err.message}${cause}`, { code: 2 });
    }
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, text, json };
  }

  // -> 'created' | 'existing' (with `missing` metrics the stored sensor lacks)
  async ensureSensor(sensor) {
    const r = await this.request('POST', '/api/v1/sensors', sensor);
    if (r.status === 201 || r.status === 200) return { result: 'created' };
    if (r.status === 409) {
      const g = await this.request('GET', `/api/v1/sensors/${encodeURIComponent(sensor.id)}`);
      if (g.status !== 200 || !g.json) return { result: 'existing', missing: [] };
      const have = new Set((g.json.metrics || []).map((m) => m.name));
      return { result: 'existing', missing: sensor.metrics.map((m) => m.name).filter((n) => !have.has(n)) };
    }
    throw new HttpFailure(`POST /api/v1/sensors ${sensor.id}: HTTP ${r.status}\n${show(r.text)}`, { status: r.status });
  }

  // Posts one batch; -> {accepted, duplicates, rejected: [{index, error}]}.
  // 422 with a `rejected` list is an answer (every reading of the batch refused), not a failure.
  // 503 and connection failures are retried (a reading stored twice is a duplicate, so retrying is safe).
  async postObservations(readings, { retries = 5 } = {}) {
    const body = { observations: readings.map(({ sensor, metric, ts, value }) => ({ sensor, metric, ts, value })) };
    for (let attempt = 0; ; attempt++) {
      let r;
      try {
        r = await this.request('POST', '/api/v1/observations', body);
      } catch (err) {
        if (attempt < retries && err.code === 2) { await sleep(500 * 2 ** attempt); continue; }
        throw err;
      }
      if (r.status === 200 && r.json) {
        return { accepted: r.json.accepted ?? 0, duplicates: r.json.duplicates ?? 0, rejected: r.json.rejected ?? [] };
      }
      if (r.status === 422 && r.json && Array.isArray(r.json.rejected)) {
        return { accepted: 0, duplicates: 0, rejected: r.json.rejected };
      }
      if (r.status === 503 && attempt < retries) {
        const after = Number(r.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : 1000 * 2 ** attempt);
        continue;
      }
      let hint = '';
      if (r.status === 404 || r.status === 405) hint = '\n(the server has no observations endpoint yet?)';
      if (r.status === 413) hint = '\n(body too large: try a smaller --batch)';
      throw new HttpFailure(`POST /api/v1/observations (${readings.length} readings): HTTP ${r.status}\n${show(r.text)}${hint}`, { status: r.status });
    }
  }
}

function show(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return String(text).slice(0, 2000); }
}

// Runs fn over items with at most `limit` in flight; after the first failure starts no new work,
// waits for what is in flight, then throws that failure.
export async function pool(items, limit, fn) {
  let next = 0;
  let failure = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const i = next++;
      try { await fn(items[i], i); } catch (err) { if (failure === null) failure = err; }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure;
}
