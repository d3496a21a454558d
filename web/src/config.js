// Optional deployment settings: web/dist/config.json (copied from web/public/config.json if present, or
// dropped next to index.html by an installer), e.g.
//   {"tileUrl": "https://tiles.example.org/{z}/{x}/{y}.png", "tileAttribution": "© …", "tileMaxZoom": 18}
// Without it the map draws zones and sensors on a plain background and needs no internet connection.
let promise = null;

export function siteConfig() {
  if (!promise) {
    promise = fetch('/config.json', { cache: 'no-cache' })
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}))
      .then((c) => (c && typeof c === 'object' ? c : {}));
  }
  return promise;
}
