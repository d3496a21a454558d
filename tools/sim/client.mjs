// The simulator's side of the Maeul REST API: the sensor list and observation batches.

export class ApiError extends Error {
  // retryable: the daemon is unreachable, busy (503/429) or failing (5xx): try again later.
  constructor(message, { status = 0, retryable = false, retryAfterMs = null, body = null } = {}) {
    super(message);
    this.status = status;
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
    this.body = body;
  }
}

function retryAfter(res) {
  const v = res.headers.get('retry-after');
  if (!v) return null;
  const n = Number(v);
  if (Number.isFinite(n)) return Math.max(0, n * 1000);
  const d = Date.parse(v);
  return Number.isFinite(d) ? Math.max(0, d - Date.now()) : null;
}

function problemText(text) {
  try {
    const p = JSON.parse(text);
    return [p.title, p.detail].filter(Boolean).join(': ') || text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

export class Api {
  constructor({ url, token, timeoutMs = 30000 }) {
    this.url = url.replace(/\/+$/, '');
    this.token = token;
    this.timeoutMs = timeoutMs;
  }

  async #request(method, path, body, signal) {
    const signals = [AbortSignal.timeout(this.timeoutMs)];
    if (signal) signals.push(signal);
    let res;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          Accept: 'application/json, application/problem+json',
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      if (signal && signal.aborted) throw new ApiError('stopped', { retryable: false });
      const cause = err.cause ? ` (${err.cause.code || err.cause.message})` : '';
      throw new ApiError(`cannot reach ${this.url}: ${err.name === 'TimeoutError' ? 'timed out' : err.message}${cause}`, { retryable: true });
    }
    let text;
    try {
      text = await res.text();
    } catch (err) {
      throw new ApiError(`${method} ${path}: connection lost while reading the answer (${err.message})`, { retryable: true });
    }
    return { res, text };
  }

  // All sensors, following next_cursor.
  async listSensors(signal) {
    const out = [];
    let cursor = null;
    for (let page = 0; page < 10000; page++) {
      const q = `/api/v1/sensors?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const { res, text } = await this.#request('GET', q, undefined, signal);
      if (res.status !== 200) {
        const retryable = res.status === 503 || res.status === 429 || res.status >= 500;
        throw new ApiError(`GET /api/v1/sensors: HTTP ${res.status} ${problemText(text)}`, { status: res.status, retryable, retryAfterMs: retryAfter(res) });
      }
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ApiError('GET /api/v1/sensors: the answer is not JSON', { status: res.status, retryable: true });
      }
      if (!Array.isArray(body.items)) throw new ApiError('GET /api/v1/sensors: no "items" array in the answer', { status: res.status });
      out.push(...body.items);
      cursor = body.next_cursor;
      if (!cursor) return out;
    }
    throw new ApiError('GET /api/v1/sensors: too many pages');
  }

  // POST /api/v1/observations. Resolves with {accepted, duplicates, rejected} for 200 and for 422 (a batch with
  // no acceptable reading); throws ApiError otherwise.
  async postObservations(observations, signal) {
    const { res, text } = await this.#request('POST', '/api/v1/observations', { observations }, signal);
    if (res.status === 200 || res.status === 422) {
      let body = null;
      try { body = JSON.parse(text); } catch { /* handled below */ }
      if (res.status === 200 && body && typeof body.accepted === 'number') {
        return { status: 200, accepted: body.accepted, duplicates: body.duplicates || 0, rejected: Array.isArray(body.rejected) ? body.rejected : [] };
      }
      if (res.status === 422) {
        const rejected = body && Array.isArray(body.rejected) ? body.rejected
          : body && Array.isArray(body.errors) ? body.errors.map((e) => ({ index: indexOf(e.pointer), error: e.detail })) : [];
        return { status: 422, accepted: 0, duplicates: 0, rejected, all: observations.length, detail: problemText(text) };
      }
      throw new ApiError(`POST /api/v1/observations: HTTP 200 without a {"accepted":N} body: ${text.slice(0, 200)}`, { status: 200 });
    }
    const retryable = res.status === 503 || res.status === 429 || res.status === 502 || res.status === 504 || res.status >= 500;
    throw new ApiError(`POST /api/v1/observations: HTTP ${res.status} ${problemText(text)}`, {
      status: res.status, retryable, retryAfterMs: retryAfter(res), body: text,
    });
  }
}

// POST /api/v1/transit/positions {"positions":[...]}. Resolves with {status, accepted, rejected} for 200 and
// 422 (the daemon's counts when it gives them, else all or none); throws ApiError otherwise.
Api.prototype.postPositions = async function postPositions(positions, signal) {
  const url = `${this.url}/api/v1/transit/positions`;
  const signals = [AbortSignal.timeout(this.timeoutMs)];
  if (signal) signals.push(signal);
  let res, text;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' },
      body: JSON.stringify({ positions }),
      signal: AbortSignal.any(signals),
    });
    text = await res.text();
  } catch (err) {
    if (signal && signal.aborted) throw new ApiError('stopped', { retryable: false });
    throw new ApiError(`cannot reach ${this.url}: ${err.message}`, { retryable: true });
  }
  if (res.status === 200 || res.status === 201 || res.status === 202 || res.status === 422) {
    let body = null;
    try { body = JSON.parse(text); } catch { /* counts unknown */ }
    const accepted = typeof body?.accepted === 'number' ? body.accepted : res.status === 422 ? 0 : positions.length;
    const rejected = Array.isArray(body?.rejected) ? body.rejected : Array.isArray(body?.errors) ? body.errors : [];
    return { status: res.status, accepted, rejected, detail: res.status === 422 ? problemText(text) : null };
  }
  const retryable = res.status === 503 || res.status === 429 || res.status >= 500;
  throw new ApiError(`POST /api/v1/transit/positions: HTTP ${res.status} ${problemText(text)}`, {
    status: res.status, retryable, retryAfterMs: retryAfter(res), body: text,
  });
};

function indexOf(pointer) {
  const m = /^\/observations\/(\d+)/.exec(String(pointer || ''));
  return m ? Number(m[1]) : null;
}
