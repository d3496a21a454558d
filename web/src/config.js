// Optional deployment settings, read from <meta> tags of index.html (which maeuld serves anyway, so a page
// load asks for nothing more), e.g. in web/index.html before building, or in web/dist/index.html after:
//   <meta name="maeul-tile-url" content="https://tiles.example.org/{z}/{x}/{y}.png">
//   <meta name="maeul-tile-attribution" content="© …">
//   <meta name="maeul-tile-max-zoom" content="18">
// Without them the map draws zones and sensors on a plain background and needs no internet connection.
function meta(name) {
  const v = document.querySelector(`meta[name="${name}"]`)?.getAttribute('content')?.trim();
  return v || undefined;
}

// Resolves to {tileUrl?, tileAttribution?, tileMaxZoom?}; never rejects.
export function siteConfig() {
  const c = {};
  const url = meta('maeul-tile-url');
  if (url) c.tileUrl = url;
  const attribution = meta('maeul-tile-attribution');
  if (attribution) c.tileAttribution = attribution;
  const zoom = Number(meta('maeul-tile-max-zoom'));
  if (Number.isInteger(zoom) && zoom > 0) c.tileMaxZoom = zoom;
  return Promise.resolve(c);
}
