'use strict';
// Helpers for the bus operations e2e tests: a small synthetic GTFS feed on a straight road in
// Sokcho (so that distances, and so arrival times, are known), zipped with lib/zip.js.

const { makeZip } = require('./zip');

const LAT = 38.2;
const LON = 128.59;
// Metres east of (LON, LAT) in degrees of longitude, as maeuld's local projection computes them.
const KX = 6371008.8 * Math.PI / 180 * Math.cos(LAT * Math.PI / 180);
const KY = 6371008.8 * Math.PI / 180;
const east = (m) => LON + m / KX;
const north = (m) => LAT + m / KY;

// Route R1: S0 at 0 m, S1 at 400 m, S2 at 1000 m along a straight shape; trip T1 (direction 0)
// with a frequency of every `headwayS` seconds all day; every day of 2026-2027.
function feedZip({ headwayS = 600 } = {}) {
  const f = {
    'agency.txt': 'agency_id,agency_name,agency_url,agency_timezone\nSK,Sokcho Bus,https://bus.sokcho.example,Asia/Seoul\n',
    'stops.txt': 'stop_id,stop_name,stop_lat,stop_lon\n' +
      `S0,Stop 0,${LAT},${east(0)}\nS1,Stop 1,${LAT},${east(400)}\nS2,Stop 2,${LAT},${east(1000)}\n`,
    'routes.txt': 'route_id,agency_id,route_short_name,route_long_name,route_type\nR1,SK,1,Beach line,3\n',
    'trips.txt': 'route_id,service_id,trip_id,shape_id,direction_id\nR1,ALL,T1,SH1,0\n',
    'stop_times.txt': 'trip_id,arrival_time,departure_time,stop_id,stop_sequence\n' +
      'T1,00:00:00,00:00:00,S0,1\nT1,00:01:30,00:01:30,S1,2\nT1,00:03:00,00:03:00,S2,3\n',
    'calendar.txt': 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n' +
      'ALL,1,1,1,1,1,1,1,20260101,20271231\n',
    'frequencies.txt': `trip_id,start_time,end_time,headway_secs\nT1,00:00:00,24:00:00,${headwayS}\n`,
    'shapes.txt': 'shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n' +
      `SH1,${LAT},${east(0)},1\nSH1,${LAT},${east(500)},2\nSH1,${LAT},${east(1000)},3\n`,
  };
  return makeZip(Object.entries(f).map(([name, data]) => ({ name, data })));
}

// A position `m` metres along R1 at time `ms` (epoch milliseconds).
function pos(vehicle, m, ms, extra = {}) {
  return { vehicle, route: 'R1', lon: east(m), lat: LAT, ts: new Date(ms).toISOString(), ...extra };
}

module.exports = { LAT, LON, east, north, feedZip, pos };
