// Small planar geometry helpers for the demo world (good enough at city scale: a local
// equirectangular projection around each point). GeoJSON positions are [lon, lat].

const R = 6371008.8;

function polygonsOf(geom) {
  if (geom.type === 'Polygon') return [geom.coordinates];
  if (geom.type === 'MultiPolygon') return geom.coordinates;
  throw new Error(`not a polygon: ${geom.type}`);
}

function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Even-odd rule; holes respected.
export function pointInPolygon(pt, geom) {
  return polygonsOf(geom).some((rings) => inRing(pt, rings[0]) && !rings.slice(1).some((h) => inRing(pt, h)));
}

export function ringsOf(geom) {
  return polygonsOf(geom).flat();
}

// Metres from pt to the nearest edge of geom.
export function distanceToBoundaryM(pt, geom) {
  const k = Math.cos((pt[1] * Math.PI) / 180);
  const proj = ([lon, lat]) => [((lon * Math.PI) / 180) * R * k, ((lat * Math.PI) / 180) * R];
  const p = proj(pt);
  let best = Infinity;
  for (const ring of ringsOf(geom)) {
    for (let i = 0; i + 1 < ring.length; i++) {
      const a = proj(ring[i]), b = proj(ring[i + 1]);
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const len2 = dx * dx + dy * dy;
      const t = len2 ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2)) : 0;
      best = Math.min(best, Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy)));
    }
  }
  return best;
}

// True when segments ab and cd cross at a point interior to both (touching ends do not count).
export function segmentsCross(a, b, c, d) {
  const o = (p, q, r) => Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  const o1 = o(a, b, c), o2 = o(a, b, d), o3 = o(c, d, a), o4 = o(c, d, b);
  return o1 * o2 < 0 && o3 * o4 < 0;
}

// Polygon area in km² (shoelace on the local projection), for a sanity check of the zones.
export function areaKm2(geom) {
  let total = 0;
  for (const rings of polygonsOf(geom)) {
    rings.forEach((ring, idx) => {
      const lat0 = ring.reduce((s, p) => s + p[1], 0) / ring.length;
      const k = Math.cos((lat0 * Math.PI) / 180);
      let a = 0;
      for (let i = 0; i + 1 < ring.length; i++) {
        const [x1, y1] = ring[i], [x2, y2] = ring[i + 1];
        a += x1 * k * y2 - x2 * k * y1;
      }
      const m2 = (Math.abs(a) / 2) * ((Math.PI / 180) * R) ** 2;
      total += idx === 0 ? m2 : -m2;
    });
  }
  return total / 1e6;
}
