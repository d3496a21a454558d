// Optional deployment settings, read from <meta> tags of index.html (which maeuld serves anyway, so a page
// load asks for nothing more: no /config.json). maeuld writes them from its config's [web] section
// (web.tiles, web.tiles_attribution, web.tiles_max_zoom; docs/operations.md); a build may also carry
// them in web/index.html:
//   <meta name="maeul-tile-url" content="https://tiles.example.org/{z}/{x}/{y}.png">
//   <meta name="maeul-tile-attribution" content="© …">
//   <meta name="maeul-tile-max-zoom" content="18">
// Without them the map draws zones and sensors on a plain background and needs no internet connection.
// The last tag of a name wins: maeuld writes the tags of its config (web.tiles) after those of the file.
function meta(name) {
  const all = document.querySelectorAll(`meta[name="${name}"]`);
  const v = all.length ? all[all.length - 1].getAttribute('content')?.trim() : undefined;
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
