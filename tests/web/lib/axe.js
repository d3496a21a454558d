'use strict';
// axe-core in a page driven by playwright-core, for the dashboard's accessibility checks.

const fs = require('node:fs');

const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// Runs axe-core in the page. `rules`: ids to run (and only those); `tags`: WCAG levels to run as well;
// `include`: a CSS selector to check instead of the whole document.
async function axe(page, { rules = [], tags = [], include } = {}) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    // evaluated through the DevTools protocol: the page's CSP (no inline script) stays as it is
    await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  }
  return page.evaluate(async ({ rules: r, tags: tg, include: inc }) => {
    const opts = { resultTypes: ['violations'] };
    if (tg.length) {
      opts.runOnly = { type: 'tag', values: tg };
      if (r.length) opts.rules = Object.fromEntries(r.map((id) => [id, { enabled: true }]));
    } else {
      opts.runOnly = { type: 'rule', values: r };
    }
    const res = await window.axe.run(inc ? { include: [[inc]] } : document, opts);
    return res.violations.map((v) => ({ id: v.id, n: v.nodes.length, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  }, { rules, tags, include: include || null });
}

function describeViolations(vs) {
  return vs.map((v) => `${v.id} ×${v.n} (${v.targets.join(', ')})`).join('; ');
}

module.exports = { axe, describeViolations, WCAG };
