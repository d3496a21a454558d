// Deterministic hashing and noise for maeul-sim. No state, no Math.random(): every value is a function of
// (seed, key, integers), so the same --seed gives the same world.

// FNV-1a of a string, 32 bits.
export function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fmix(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Hash of any number of integers (any safe integer, negative too) to 32 bits.
export function hashInts(...xs) {
  let h = 0x9e3779b9;
  for (const x of xs) {
    const lo = x % 4294967296;
    const hi = Math.floor(x / 4294967296);
    h = fmix((h ^ (lo >>> 0)) + 0x7f4a7c15);
    h = fmix((h ^ (hi >>> 0)) + 0x6a09e667);
  }
  return h;
}

// Uniform in [0, 1).
export function u01(...xs) {
  return hashInts(...xs) / 4294967296;
}

// Approximately standard normal (Irwin–Hall with 4 terms, scaled): bounded to about ±3.5.
export function gauss(...xs) {
  const h = hashInts(...xs);
  const a = fmix(h + 1) / 4294967296, b = fmix(h + 2) / 4294967296;
  const c = fmix(h + 3) / 4294967296, d = fmix(h + 4) / 4294967296;
  return (a + b + c + d - 2) * Math.sqrt(3);
}

const smooth = (f) => f * f * (3 - 2 * f);

// Smooth value noise in [0, 1): knots every `period` (same unit as t), smoothstep between them.
export function valueNoise(key, t, period) {
  const x = t / period;
  const k = Math.floor(x);
  const f = smooth(x - k);
  const a = u01(key, k), b = u01(key, k + 1);
  return a + (b - a) * f;
}

// Poisson sample with mean lambda from a uniform u (inverse CDF; normal approximation above 40).
export function poisson(lambda, u, g) {
  if (!(lambda > 0)) return 0;
  if (lambda > 40) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * g));
  let k = 0, p = Math.exp(-lambda), cdf = p;
  while (u > cdf && k < 200) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

export const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
export const smoothstep = (e0, e1, x) => smooth(clamp((x - e0) / (e1 - e0), 0, 1));
