'use strict';
// The KPI tiles' verdict in time (web/src/kpis.js, pure functions, no browser): a period in progress is judged
// against the part of it that has passed when its target is a per-day total, and is said to be "so far".

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

describe('KPI periods in the city calendar', () => {
  let K;
  before(async () => { K = await import(pathToFileURL(path.join(__dirname, '..', '..', 'web', 'src', 'kpis.js')).href); });

  const electricity = { id: 'electricity_per_capita', direction: 'lower_is_better', target_basis: 'per day (scaled by the period\'s days)' };
  const boardings = { id: 'transit_boardings_per_capita', direction: 'higher_is_better', target_basis: 'per day (scaled by the period\'s days)' };
  const response = { id: 'emergency_response_time', direction: 'lower_is_better', target_basis: 'per period' };
  // December 2026 in Sokcho starts at 2026-11-30T15:00Z and has 31 days; 6 days have passed on Dec 7, 00:00 KST.
  const DEC = '2026-11-30T15:00:00.000Z';
  const NOW = Date.parse('2026-12-06T15:00:00.000Z');

  it('knows where months, weeks, days and years of the city end', () => {
    assert.equal(new Date(K.periodEnd(DEC, 'month')).toISOString(), '2026-12-31T15:00:00.000Z');
    assert.equal(new Date(K.periodEnd('2027-01-31T15:00:00.000Z', 'month')).toISOString(), '2027-02-28T15:00:00.000Z');
    assert.equal(new Date(K.periodEnd('2026-11-29T15:00:00.000Z', 'week')).toISOString(), '2026-12-06T15:00:00.000Z');
    assert.equal(new Date(K.periodEnd('2025-12-31T15:00:00.000Z', 'year')).toISOString(), '2026-12-31T15:00:00.000Z');
    const p = K.periodProgress(DEC, 'month', NOW);
    assert.equal(p.days, 31);
    assert.equal(p.elapsedDays, 6);
    assert.equal(p.inProgress, true);
  });

  it('does not call six days of a month a miss of the whole month\'s target', () => {
    // boardings: 0.35 a day, 10.85 for December; 2.4 after 6 days is on track (6 × 0.35 = 2.1)
    const j = K.judge(boardings, 2.4, 10.85, DEC, 'month', NOW);
    assert.equal(j.soFar, true);
    assert.equal(j.prorated, true);
    assert.ok(Math.abs(j.target - 2.1) < 1e-9, `target so far ${j.target}`);
    assert.equal(j.meets, true);
    assert.equal(K.meets(boardings, 2.4, 10.85), false, 'against the whole month it would have been a miss');
    // and behind when it is behind
    assert.equal(K.judge(boardings, 1.5, 10.85, DEC, 'month', NOW).meets, false);
    // lower is better: 6 days of 3.5 kWh is 21; 24 is over
    assert.equal(K.judge(electricity, 24, 108.5, DEC, 'month', NOW).meets, false);
    assert.equal(K.judge(electricity, 20, 108.5, DEC, 'month', NOW).meets, true);
  });

  it('compares a mean with its target as it is, saying it is so far; a past period is judged whole', () => {
    const j = K.judge(response, 7.5, 8, DEC, 'month', NOW);
    assert.equal(j.soFar, true);
    assert.equal(j.prorated, false);
    assert.equal(j.target, 8);
    assert.equal(j.meets, true);
    const past = K.judge(boardings, 9, 10.5, '2026-10-31T15:00:00.000Z', 'month', NOW);
    assert.equal(past.soFar, false);
    assert.equal(past.target, 10.5);
    assert.equal(past.meets, false);
  });
});
