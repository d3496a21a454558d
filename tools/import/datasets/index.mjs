// The data sets the importer knows, by --dataset name.
import * as seoulAir from './seoul-air.mjs';
import * as krPower from './kr-power.mjs';
import * as seoulSubway from './seoul-subway.mjs';
import * as i94 from './i94-traffic.mjs';
import * as adl from './ordonez-adl.mjs';

export const DATASETS = {
  'seoul-air': { module: seoulAir, about: 'Seoul city-average hourly PM2.5/PM10/O3/NO2/CO/SO2, 2018-2022' },
  'kr-power': { module: krPower, about: 'Korean daily thermal generation by province and fuel, 2018-2022 (CP949)' },
  'seoul-subway': { module: seoulSubway, about: 'Seoul subway boardings/alightings per line and station per day, May 2025' },
  'i94-traffic': { module: i94, about: 'I-94 westbound hourly traffic volume (ATR 301) and weather, 2012-2018' },
  'ordonez-adl': { module: adl, about: 'binary home sensors and ADL labels, two homes (Ordonez A/B)' },
};
