#!/usr/bin/env node
// Generates config/demo/sokcho.json, the Sokcho demo world, from the hand-written data below.
//
//   node config/demo/generate.mjs          writes sokcho.json beside this file
//   node config/demo/generate.mjs --check  exits 1 when sokcho.json is not what this file generates
//
// Everything here is deterministic (a fixed-seed PRNG), so the output only changes when this file does.
// Edit this file, run it, commit both. Coordinates are WGS84 [lon, lat]. See docs/demo.md.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pointInPolygon, distanceToBoundaryM } from './geo.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, 'sokcho.json');

// ---------------------------------------------------------------------------------------------
// Zones. The five polygons share their edges (same vertices), so they tile the populated city
// without overlapping. Boundaries are simplified from the administrative dong borders.
const V = {
  // shared vertices
  stationNW: [128.530, 38.232], north: [128.566, 38.236], yeongnangW: [128.574, 38.224],
  gyoE: [128.582, 38.212], portW: [128.586, 38.2025], lakeW: [128.578, 38.196],
  cheongdae: [128.575, 38.185], beachS: [128.600, 38.186], seaS: [128.620, 38.186],
  seaPort: [128.620, 38.2025], dongmyeongSea: [128.612, 38.215], jangsaSea: [128.598, 38.238],
  stationW: [128.522, 38.205], stationSW: [128.530, 38.185], seorakNE: [128.505, 38.186],
  seorakNW: [128.475, 38.180], seorakSW: [128.475, 38.160], seorakS: [128.520, 38.152],
  daepoSW: [128.590, 38.156], daepoW: [128.583, 38.170], daepoSE: [128.622, 38.156],
  oeongchiSea: [128.628, 38.168],
};

const ZONES = [
  {
    id: 'station',
    name: { ko: '속초역세권 (노학·교동)', en: 'Station Area (Nohak & Gyo-dong)' },
    ring: ['stationNW', 'north', 'yeongnangW', 'gyoE', 'portW', 'lakeW', 'cheongdae', 'stationSW', 'stationW'],
    population: 28300, households: 13600,
    attributes: {
      dongs: { ko: ['노학동', '교동'], en: ['Nohak-dong', 'Gyo-dong'] },
      description: 'Around the planned Sokcho station of the Chuncheon–Sokcho (Dongseoul–Sokcho) line, Nohak-dong side; Cheongchocheon stream, Cheoksan hot springs.',
      center: [128.562, 38.200],
    },
  },
  {
    id: 'downtown',
    name: { ko: '원도심 (중앙·금호·동명·영랑)', en: 'Downtown (Jungang, Geumho, Dongmyeong, Yeongnang)' },
    ring: ['north', 'jangsaSea', 'dongmyeongSea', 'seaPort', 'portW', 'gyoE', 'yeongnangW'],
    population: 15600, households: 8700,
    attributes: {
      dongs: { ko: ['중앙동', '금호동', '동명동', '영랑동'], en: ['Jungang-dong', 'Geumho-dong', 'Dongmyeong-dong', 'Yeongnang-dong'] },
      description: 'City hall, Sokcho Tourist & Fishery Market (Jungang market), Sokcho and Dongmyeong ports, Yeongnangho lake.',
      center: [128.591, 38.212],
    },
  },
  {
    id: 'cheongcho',
    name: { ko: '청초호·아바이마을 (청호·조양)', en: 'Cheongchoho & Abai Village (Cheongho & Joyang)' },
    ring: ['portW', 'seaPort', 'seaS', 'beachS', 'cheongdae', 'lakeW'],
    population: 29900, households: 14300,
    attributes: {
      dongs: { ko: ['청호동', '조양동'], en: ['Cheongho-dong', 'Joyang-dong'] },
      description: 'Cheongchoho lake, Abai village on the sand bar, Expo park, the express bus terminal and Sokcho beach.',
      center: [128.592, 38.194],
    },
  },
  {
    id: 'seorak',
    name: { ko: '설악', en: 'Seorak' },
    ring: ['stationSW', 'cheongdae', 'daepoW', 'daepoSW', 'seorakS', 'seorakSW', 'seorakNW', 'seorakNE'],
    population: 2600, households: 1400,
    attributes: {
      dongs: { ko: ['설악동', '노학동 남부'], en: ['Seorak-dong', 'southern Nohak-dong'] },
      description: 'Seorak-dong up the Ssangcheon valley to the Seoraksan national park entrance (Sogongwon); resorts and hot springs.',
      center: [128.530, 38.170],
    },
  },
  {
    id: 'daepo',
    name: { ko: '대포·외옹치', en: 'Daepo & Oeongchi' },
    ring: ['cheongdae', 'beachS', 'seaS', 'oeongchiSea', 'daepoSE', 'daepoSW', 'daepoW'],
    population: 5900, households: 3100,
    attributes: {
      dongs: { ko: ['대포동'], en: ['Daepo-dong'] },
      description: 'Daepo port, Oeongchi village and beach, the lower Ssangcheon stream at the southern city edge.',
      center: [128.604, 38.172],
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Anchors: places sensors and generic facilities cluster around. [lon, lat, radius_m]
const A = {
  station: {
    gyo: [128.5785, 38.2075, 450], nohak: [128.5650, 38.1935, 450], station: [128.5600, 38.1975, 350],
    cheoksan: [128.5490, 38.1895, 350], misiryeong: [128.5420, 38.2050, 450], cheongdae: [128.5690, 38.2005, 350],
  },
  downtown: {
    cityhall: [128.5918, 38.2070, 250], market: [128.5899, 38.2047, 200], dongmyeong: [128.5975, 38.2110, 250],
    yeongnang: [128.5880, 38.2170, 350], jangsa: [128.5860, 38.2290, 350],
  },
  cheongcho: {
    abai: [128.5985, 38.1990, 150], expo: [128.5945, 38.1930, 200], joyang: [128.5880, 38.1890, 350],
    joyangW: [128.5810, 38.1895, 250], beach: [128.6010, 38.1905, 200],
  },
  seorak: {
    sogongwon: [128.4890, 38.1725, 300], resort: [128.5200, 38.1760, 400], village: [128.5450, 38.1720, 450],
    east: [128.5680, 38.1750, 350],
  },
  daepo: {
    port: [128.6075, 38.1755, 200], center: [128.6000, 38.1770, 300], oeongchi: [128.6090, 38.1830, 150],
    south: [128.6000, 38.1655, 350],
  },
};

// Fixed sites (no jitter): streams, lake, tide gauges. [lon, lat, site label]
const SITES = {
  water_level: {
    station: [[128.5450, 38.2130, 'Cheongchocheon (upper)'], [128.5600, 38.2070, 'Cheongchocheon (Nohak bridge)'], [128.5730, 38.2015, 'Cheongchocheon (lower)']],
    downtown: [[128.5870, 38.2230, 'Yeongnangho outlet']],
    cheongcho: [[128.5835, 38.1985, 'Cheongchoho inlet (Cheongchocheon mouth)'], [128.5965, 38.2010, 'Cheongchoho channel (Abai ferry)']],
    seorak: [[128.5050, 38.1690, 'Ssangcheon (Seorak-dong upper)'], [128.5350, 38.1660, 'Ssangcheon (Seorak-dong)'], [128.5650, 38.1630, 'Ssangcheon (Doriwon)']],
    daepo: [[128.5960, 38.1610, 'Ssangcheon (lower)'], [128.6090, 38.1595, 'Ssangcheon mouth']],
  },
  tide_gauge: {
    downtown: [[128.5990, 38.2075, 'Sokcho port']],
    daepo: [[128.6095, 38.1750, 'Daepo port']],
  },
};

// ---------------------------------------------------------------------------------------------
// Sensor kinds: domain, metrics, id prefix, and how many per zone [station, downtown, cheongcho, seorak, daepo].
const ZONE_ORDER = ['station', 'downtown', 'cheongcho', 'seorak', 'daepo'];
const KINDS = [
  // mobility
  { kind: 'bus_stop_counter', domain: 'mobility', prefix: 'bus', n: [12, 12, 12, 5, 6],
    metrics: [{ name: 'boardings', unit: 'count', min: 0, max: 200, interval_s: 300 }, { name: 'alightings', unit: 'count', min: 0, max: 200, interval_s: 300 }] },
  { kind: 'traffic_corridor', domain: 'mobility', prefix: 'trf', n: [5, 5, 5, 3, 3],
    metrics: [{ name: 'travel_time_s', unit: 's', min: 0, max: 3600, interval_s: 60 }, { name: 'speed_kmh', unit: 'km/h', min: 0, max: 130, interval_s: 60 }, { name: 'volume', unit: 'veh/h', min: 0, max: 4000, interval_s: 60 }] },
  { kind: 'bike_dock', domain: 'mobility', prefix: 'bike', n: [3, 4, 4, 1, 2],
    metrics: [{ name: 'bikes_available', unit: 'count', min: 0, max: 20, interval_s: 120 }, { name: 'docks_free', unit: 'count', min: 0, max: 20, interval_s: 120 }] },
  { kind: 'parking_lot', domain: 'mobility', prefix: 'park', n: [2, 3, 3, 2, 2],
    metrics: [{ name: 'occupancy_pct', unit: '%', min: 0, max: 100, interval_s: 300 }, { name: 'free_spaces', unit: 'count', min: 0, max: 800, interval_s: 300 }] },
  // energy
  { kind: 'smart_meter', domain: 'energy', prefix: 'meter', n: [10, 8, 10, 3, 4],
    metrics: [{ name: 'power_kw', unit: 'kW', min: 0, max: 500, interval_s: 900 }, { name: 'energy_kwh', unit: 'kWh', min: 0, interval_s: 900 }] },
  { kind: 'solar_pv', domain: 'energy', prefix: 'pv', n: [4, 2, 3, 2, 2],
    metrics: [{ name: 'power_kw', unit: 'kW', min: 0, max: 100, interval_s: 300 }, { name: 'energy_kwh', unit: 'kWh', min: 0, interval_s: 300 }] },
  { kind: 'ess', domain: 'energy', prefix: 'ess', n: [1, 1, 1, 0, 1],
    metrics: [{ name: 'soc_pct', unit: '%', min: 0, max: 100, interval_s: 300 }, { name: 'power_kw', unit: 'kW', min: -250, max: 250, interval_s: 300 }] },
  { kind: 'ev_charger', domain: 'energy', prefix: 'evc', n: [2, 2, 3, 1, 1],
    metrics: [{ name: 'power_kw', unit: 'kW', min: 0, max: 100, interval_s: 300 }, { name: 'in_use', unit: 'bool', min: 0, max: 1, interval_s: 300 }] },
  // welfare (pseudonymous households; no personal data anywhere)
  { kind: 'home_activity', domain: 'welfare', prefix: 'home', n: [14, 16, 14, 5, 7], coarse: true,
    metrics: [{ name: 'motion', unit: 'events', min: 0, interval_s: 900 }, { name: 'door', unit: 'events', min: 0, interval_s: 900 }, { name: 'power_use', unit: 'W', min: 0, max: 10000, interval_s: 900 }] },
  { kind: 'emergency_button', domain: 'welfare', prefix: 'sos', n: [4, 5, 4, 2, 3], coarse: true,
    metrics: [{ name: 'pressed', unit: 'bool', min: 0, max: 1 }, { name: 'battery_pct', unit: '%', min: 0, max: 100, interval_s: 3600 }] },
  // disaster
  { kind: 'water_level', domain: 'disaster', prefix: 'wl', sites: 'water_level',
    metrics: [{ name: 'level', unit: 'm', min: 0, max: 6, interval_s: 60 }] },
  { kind: 'tide_gauge', domain: 'disaster', prefix: 'tide', sites: 'tide_gauge',
    metrics: [{ name: 'level', unit: 'm', min: -2, max: 5, interval_s: 60 }] },
  { kind: 'rain_gauge', domain: 'disaster', prefix: 'rain', n: [1, 1, 1, 2, 1],
    metrics: [{ name: 'rain_mm', unit: 'mm', min: 0, max: 200, interval_s: 600 }] },
  { kind: 'fire_weather', domain: 'disaster', prefix: 'fw', n: [2, 1, 1, 3, 1],
    metrics: [{ name: 'temperature_c', unit: '°C', min: -30, max: 45, interval_s: 300 }, { name: 'humidity_pct', unit: '%', min: 0, max: 100, interval_s: 300 }, { name: 'wind_ms', unit: 'm/s', min: 0, max: 60, interval_s: 300 }, { name: 'wind_dir_deg', unit: '°', min: 0, max: 360, interval_s: 300 }] },
  { kind: 'seismic', domain: 'disaster', prefix: 'seis', n: [1, 1, 1, 1, 1],
    metrics: [{ name: 'pga_gal', unit: 'gal', min: 0, max: 2000, interval_s: 60 }] },
  // environment
  { kind: 'air_quality', domain: 'environment', prefix: 'aq', n: [3, 3, 3, 2, 2],
    metrics: [{ name: 'pm25', unit: 'µg/m³', min: 0, max: 1000, interval_s: 300 }, { name: 'pm10', unit: 'µg/m³', min: 0, max: 2000, interval_s: 300 }, { name: 'o3', unit: 'ppm', min: 0, max: 1, interval_s: 300 }, { name: 'no2', unit: 'ppm', min: 0, max: 1, interval_s: 300 }] },
  { kind: 'noise', domain: 'environment', prefix: 'noise', n: [3, 4, 4, 1, 2],
    metrics: [{ name: 'laeq_db', unit: 'dB(A)', min: 20, max: 130, interval_s: 300 }] },
];

// Where each kind prefers to be, by zone (anchor names; default: all anchors of the zone).
const PREFER = {
  traffic_corridor: { station: ['misiryeong', 'station', 'gyo', 'nohak', 'cheoksan'], seorak: ['resort', 'village', 'east'] },
  fire_weather: { station: ['misiryeong', 'cheoksan'], seorak: ['sogongwon', 'resort', 'village'] },
  parking_lot: { downtown: ['market', 'dongmyeong', 'cityhall'], cheongcho: ['abai', 'beach', 'expo'], seorak: ['sogongwon', 'resort'], daepo: ['port', 'oeongchi'] },
  noise: { downtown: ['market', 'cityhall', 'dongmyeong', 'yeongnang'], cheongcho: ['beach', 'abai', 'joyang', 'expo'] },
};

const CORRIDOR = {
  station: 'Misiryeong-ro / Route 7 bypass', downtown: 'Jungang-ro (Route 7)', cheongcho: 'Cheongchoho-ban-ro (Route 7)',
  seorak: 'Seoraksan-ro', daepo: 'Route 7 (Daepo junction)',
};

// ---------------------------------------------------------------------------------------------
// Facilities: [category, ko, en, anchor, real?, [lon, lat]?]. "real" names are real places whose
// coordinates are still approximate; the others are generic names for plausible facilities.
const FACILITIES = {
  station: [
    ['clinic', '교동 가정의원', 'Gyo-dong Family Clinic', 'gyo'],
    ['clinic', '노학동 내과의원', 'Nohak-dong Internal Medicine Clinic', 'nohak'],
    ['clinic', '노학동 정형외과의원', 'Nohak-dong Orthopedic Clinic', 'station'],
    ['pharmacy', '교동 약국', 'Gyo-dong Pharmacy', 'gyo'],
    ['pharmacy', '노학동 약국', 'Nohak-dong Pharmacy', 'nohak'],
    ['pharmacy', '척산 약국', 'Cheoksan Pharmacy', 'cheoksan'],
    ['grocery', '교동 마트', 'Gyo-dong Mart', 'gyo'],
    ['grocery', '노학동 농협 하나로마트', 'Nohak NongHyup Hanaro Mart', 'nohak'],
    ['grocery', '역세권 식료품점', 'Station Area Grocery', 'station'],
    ['care_center', '교동 경로당', 'Gyo-dong Senior Center', 'gyo'],
    ['care_center', '노학동 경로당', 'Nohak-dong Senior Center', 'nohak'],
    ['care_center', '노학동 노인주간보호센터', 'Nohak-dong Senior Day Care Center', 'cheongdae'],
    ['shelter', '교동 주민센터 임시주거시설', 'Gyo-dong Community Center Shelter', 'gyo'],
    ['shelter', '노학동 주민센터 임시주거시설', 'Nohak-dong Community Center Shelter', 'nohak'],
    ['shelter', '청대산 지진 옥외대피장소', 'Cheongdaesan Earthquake Assembly Area', 'cheongdae'],
    ['school', '교동초등학교', 'Gyodong Elementary School', 'gyo', true],
    ['school', '노학동 초등학교', 'Nohak-dong Elementary School', 'nohak'],
    ['school', '노학동 중학교', 'Nohak-dong Middle School', 'station'],
    ['bus_stop', '속초역(예정) 정류장', 'Sokcho Station (planned) stop', 'station'],
    ['bus_stop', '노학동 주민센터 정류장', 'Nohak-dong Community Center stop', 'nohak'],
    ['bus_stop', '교동 정류장', 'Gyo-dong stop', 'gyo'],
    ['bus_stop', '척산온천 정류장', 'Cheoksan Hot Spring stop', 'cheoksan'],
    ['bus_stop', '미시령로 정류장', 'Misiryeong-ro stop', 'misiryeong'],
  ],
  downtown: [
    ['clinic', '속초의료원', 'Sokcho Medical Center', 'yeongnang', true, [128.5885, 38.2180]],
    ['clinic', '속초시보건소', 'Sokcho Public Health Center', 'cityhall', true],
    ['clinic', '중앙동 가정의원', 'Jungang-dong Family Clinic', 'market'],
    ['clinic', '동명동 내과의원', 'Dongmyeong-dong Internal Medicine Clinic', 'dongmyeong'],
    ['pharmacy', '중앙시장 약국', 'Jungang Market Pharmacy', 'market'],
    ['pharmacy', '시청앞 약국', 'City Hall Pharmacy', 'cityhall'],
    ['pharmacy', '영랑동 약국', 'Yeongnang-dong Pharmacy', 'yeongnang'],
    ['grocery', '속초관광수산시장', 'Sokcho Tourist & Fishery Market', 'market', true, [128.5899, 38.2047]],
    ['grocery', '동명동 마트', 'Dongmyeong-dong Mart', 'dongmyeong'],
    ['grocery', '영랑동 식료품점', 'Yeongnang-dong Grocery', 'yeongnang'],
    ['care_center', '동명동 경로당', 'Dongmyeong-dong Senior Center', 'dongmyeong'],
    ['care_center', '금호동 경로당', 'Geumho-dong Senior Center', 'cityhall'],
    ['care_center', '영랑동 노인주간보호센터', 'Yeongnang-dong Senior Day Care Center', 'yeongnang'],
    ['care_center', '장사동 경로당', 'Jangsa-dong Senior Center', 'jangsa'],
    ['shelter', '영금정 해일 긴급대피장소', 'Yeonggeumjeong Tsunami Evacuation Site', 'dongmyeong'],
    ['shelter', '금호동 주민센터 임시주거시설', 'Geumho-dong Community Center Shelter', 'cityhall'],
    ['shelter', '영랑동 임시주거시설', 'Yeongnang-dong Temporary Shelter', 'yeongnang'],
    ['school', '속초초등학교', 'Sokcho Elementary School', 'cityhall', true],
    ['school', '영랑초등학교', 'Yeongnang Elementary School', 'yeongnang', true],
    ['school', '동명동 중학교', 'Dongmyeong-dong Middle School', 'dongmyeong'],
    ['bus_stop', '속초시청 정류장', 'Sokcho City Hall stop', 'cityhall', true],
    ['bus_stop', '중앙시장 정류장', 'Jungang Market stop', 'market', true],
    ['bus_stop', '동명항 정류장', 'Dongmyeong Port stop', 'dongmyeong', true],
    ['bus_stop', '속초의료원 정류장', 'Sokcho Medical Center stop', 'yeongnang', true],
    ['bus_stop', '장사항 정류장', 'Jangsa Port stop', 'jangsa', true],
  ],
  cheongcho: [
    ['clinic', '조양동 가정의원', 'Joyang-dong Family Clinic', 'joyang'],
    ['clinic', '조양동 소아청소년과의원', 'Joyang-dong Pediatric Clinic', 'joyangW'],
    ['clinic', '청호동 의원', 'Cheongho-dong Clinic', 'abai'],
    ['clinic', '엑스포 내과의원', 'Expo Internal Medicine Clinic', 'expo'],
    ['pharmacy', '조양동 약국', 'Joyang-dong Pharmacy', 'joyang'],
    ['pharmacy', '청호동 약국', 'Cheongho-dong Pharmacy', 'abai'],
    ['pharmacy', '터미널 약국', 'Terminal Pharmacy', 'beach'],
    ['grocery', '조양동 마트', 'Joyang-dong Mart', 'joyang'],
    ['grocery', '아바이마을 식료품점', 'Abai Village Grocery', 'abai'],
    ['grocery', '조양동 농협 하나로마트', 'Joyang NongHyup Hanaro Mart', 'joyangW'],
    ['care_center', '청호동 경로당', 'Cheongho-dong Senior Center', 'abai'],
    ['care_center', '조양동 경로당', 'Joyang-dong Senior Center', 'joyang'],
    ['care_center', '조양동 노인주간보호센터', 'Joyang-dong Senior Day Care Center', 'joyangW'],
    ['shelter', '엑스포공원 지진 옥외대피장소', 'Expo Park Earthquake Assembly Area', 'expo'],
    ['shelter', '조양동 주민센터 임시주거시설', 'Joyang-dong Community Center Shelter', 'joyang'],
    ['shelter', '청호동 해일 긴급대피장소', 'Cheongho-dong Tsunami Evacuation Site', 'abai'],
    ['school', '조양초등학교', 'Joyang Elementary School', 'joyang', true],
    ['school', '청호초등학교', 'Cheongho Elementary School', 'abai', true],
    ['school', '조양동 중학교', 'Joyang-dong Middle School', 'joyangW'],
    ['school', '조양동 고등학교', 'Joyang-dong High School', 'expo'],
    ['bus_stop', '속초고속버스터미널', 'Sokcho Express Bus Terminal', 'beach', true],
    ['bus_stop', '아바이마을 정류장', 'Abai Village stop', 'abai', true],
    ['bus_stop', '엑스포공원 정류장', 'Expo Park stop', 'expo', true],
    ['bus_stop', '속초해수욕장 정류장', 'Sokcho Beach stop', 'beach', true],
    ['bus_stop', '조양동 주민센터 정류장', 'Joyang-dong Community Center stop', 'joyang'],
  ],
  seorak: [
    ['clinic', '설악동 보건진료소', 'Seorak-dong Health Post', 'village'],
    ['clinic', '설악 의원', 'Seorak Clinic', 'east'],
    ['pharmacy', '설악동 약국', 'Seorak-dong Pharmacy', 'village'],
    ['pharmacy', '설악 리조트 약국', 'Seorak Resort Pharmacy', 'resort'],
    ['grocery', '설악동 식료품점', 'Seorak-dong Grocery', 'village'],
    ['grocery', '소공원 매점', 'Sogongwon Store', 'sogongwon'],
    ['care_center', '설악동 경로당', 'Seorak-dong Senior Center', 'village'],
    ['care_center', '도리원 경로당', 'Doriwon Senior Center', 'east'],
    ['shelter', '설악동 산불 대피소', 'Seorak-dong Wildfire Shelter', 'village'],
    ['shelter', '설악산 소공원 대피장소', 'Seoraksan Sogongwon Assembly Area', 'sogongwon'],
    ['shelter', '설악 리조트 임시주거시설', 'Seorak Resort Temporary Shelter', 'resort'],
    ['school', '설악동 초등학교', 'Seorak-dong Elementary School', 'east'],
    ['school', '설악동 유치원', 'Seorak-dong Kindergarten', 'village'],
    ['bus_stop', '설악산 소공원 정류장', 'Seoraksan Sogongwon stop', 'sogongwon', true],
    ['bus_stop', '설악동 정류장', 'Seorak-dong stop', 'village'],
    ['bus_stop', '설악 리조트 정류장', 'Seorak Resort stop', 'resort'],
    ['bus_stop', '도리원 정류장', 'Doriwon stop', 'east'],
  ],
  daepo: [
    ['clinic', '대포동 의원', 'Daepo-dong Clinic', 'center'],
    ['clinic', '대포항 보건지소', 'Daepo Port Health Post', 'port'],
    ['pharmacy', '대포동 약국', 'Daepo-dong Pharmacy', 'center'],
    ['pharmacy', '대포항 약국', 'Daepo Port Pharmacy', 'port'],
    ['grocery', '대포항 수산시장', 'Daepo Port Fish Market', 'port'],
    ['grocery', '대포동 마트', 'Daepo-dong Mart', 'center'],
    ['grocery', '외옹치 식료품점', 'Oeongchi Grocery', 'oeongchi'],
    ['care_center', '대포동 경로당', 'Daepo-dong Senior Center', 'center'],
    ['care_center', '외옹치 경로당', 'Oeongchi Senior Center', 'oeongchi'],
    ['care_center', '대포동 노인주간보호센터', 'Daepo-dong Senior Day Care Center', 'south'],
    ['shelter', '대포동 주민센터 임시주거시설', 'Daepo-dong Community Center Shelter', 'center'],
    ['shelter', '외옹치 해일 긴급대피장소', 'Oeongchi Tsunami Evacuation Site', 'oeongchi'],
    ['shelter', '대포항 해일 긴급대피장소', 'Daepo Port Tsunami Evacuation Site', 'port'],
    ['school', '대포동 초등학교', 'Daepo-dong Elementary School', 'center'],
    ['school', '대포동 중학교', 'Daepo-dong Middle School', 'south'],
    ['bus_stop', '대포항 정류장', 'Daepo Port stop', 'port', true],
    ['bus_stop', '외옹치 정류장', 'Oeongchi stop', 'oeongchi', true],
    ['bus_stop', '대포동 주민센터 정류장', 'Daepo-dong Community Center stop', 'center'],
    ['bus_stop', '대포동 남부 정류장', 'Daepo-dong South stop', 'south'],
  ],
};

// ---------------------------------------------------------------------------------------------
// Generation.

function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(38207); // Sokcho city hall is at 38.207 N

const round = (x, d) => Number(x.toFixed(d));
const pad = (n, w = 2) => String(n).padStart(w, '0');

function ringOf(zone) {
  const ring = zone.ring.map((k) => {
    if (!V[k]) throw new Error(`unknown vertex ${k}`);
    return V[k];
  });
  // RFC 7946: exterior rings counter-clockwise.
  let area2 = 0;
  for (let i = 0; i < ring.length; i++) {
    const [x1, y1] = ring[i], [x2, y2] = ring[(i + 1) % ring.length];
    area2 += x1 * y2 - x2 * y1;
  }
  if (area2 < 0) ring.reverse();
  return [...ring, ring[0]];
}

const zones = ZONES.map((z) => ({
  id: z.id, name: z.name,
  boundary: { type: 'Polygon', coordinates: [ringOf(z)] },
  population: z.population, households: z.households, attributes: z.attributes,
}));
const zoneById = Object.fromEntries(zones.map((z) => [z.id, z]));

const MARGIN_M = 40; // keep points clear of zone edges, so the zone a point falls in is never ambiguous

function okIn(zoneId, lon, lat) {
  const poly = zoneById[zoneId].boundary;
  return pointInPolygon([lon, lat], poly) && distanceToBoundaryM([lon, lat], poly) >= MARGIN_M;
}

// A point within radius_m of the anchor, inside the zone; `decimals` 3 (≈100 m) for welfare devices.
function placeNear(zoneId, anchor, decimals = 5) {
  const [lon0, lat0, r] = anchor;
  for (let tries = 0; tries < 1000; tries++) {
    const d = r * Math.sqrt(rand()), th = 2 * Math.PI * rand();
    const lat = round(lat0 + (d * Math.sin(th)) / 111320, decimals);
    const lon = round(lon0 + (d * Math.cos(th)) / (111320 * Math.cos((lat0 * Math.PI) / 180)), decimals);
    if (okIn(zoneId, lon, lat)) return [lon, lat];
  }
  throw new Error(`cannot place a point near ${anchor} in ${zoneId}`);
}

const point = (c) => ({ type: 'Point', coordinates: c });
let explicitToggle = 0;
// About a third of the objects name their zone; the rest leave it to the server to derive.
const withZone = (obj, zoneId) => ((explicitToggle++ % 3 === 0) ? { ...obj, zone: zoneId } : obj);

const FACILITY_PREFIX = {
  clinic: 'clinic', pharmacy: 'pharm', grocery: 'grocery', care_center: 'care', shelter: 'shelter', school: 'school', bus_stop: 'stop',
};
const facilities = [];
for (const zoneId of ZONE_ORDER) {
  const counters = {};
  for (const [category, ko, en, anchorName, real, at] of FACILITIES[zoneId]) {
    const anchor = A[zoneId][anchorName];
    if (!anchor) throw new Error(`unknown anchor ${zoneId}.${anchorName}`);
    counters[category] = (counters[category] || 0) + 1;
    let loc;
    if (at) {
      if (!okIn(zoneId, at[0], at[1])) throw new Error(`${ko} is not inside ${zoneId}`);
      loc = at;
    } else {
      loc = placeNear(zoneId, [anchor[0], anchor[1], Math.min(anchor[2], 300)]);
    }
    facilities.push(withZone({
      id: `${FACILITY_PREFIX[category]}-${zoneId}-${pad(counters[category])}`,
      category, name: { ko, en }, location: point(loc),
      attributes: { name_kind: real ? 'real' : 'generic', location: 'approximate' },
    }, zoneId));
  }
}

const sensors = [];
for (const k of KINDS) {
  for (let zi = 0; zi < ZONE_ORDER.length; zi++) {
    const zoneId = ZONE_ORDER[zi];
    let placements;
    if (k.sites) {
      placements = (SITES[k.sites][zoneId] || []).map(([lon, lat, site]) => {
        if (!okIn(zoneId, lon, lat)) throw new Error(`${k.kind} site ${site} is not inside ${zoneId}`);
        return { loc: [lon, lat], site };
      });
    } else {
      const names = (PREFER[k.kind] && PREFER[k.kind][zoneId]) || Object.keys(A[zoneId]);
      placements = [];
      for (let i = 0; i < k.n[zi]; i++) {
        const anchorName = names[i % names.length];
        placements.push({ loc: placeNear(zoneId, A[zoneId][anchorName], k.coarse ? 3 : 5), anchorName });
      }
    }
    placements.forEach((p, i) => {
      const attributes = {};
      if (k.domain === 'welfare') {
        // Pseudonymous: the id is all there is; the location is a ~100 m grid point, not an address.
        attributes.program = 'elderly living alone: activity monitoring';
        attributes.subject = `pseudonym:${zoneId}-${k.prefix}-${pad(i + 1, 3)}`;
        attributes.location_precision_m = 100;
      } else if (p.site) {
        attributes.site = p.site;
      } else if (k.kind === 'traffic_corridor') {
        attributes.corridor = CORRIDOR[zoneId];
        attributes.segment = `${p.anchorName}-${i + 1}`;
      } else {
        attributes.site = p.anchorName;
      }
      if (k.kind === 'solar_pv') attributes.capacity_kw = [30, 50, 100][i % 3];
      if (k.kind === 'ess') attributes.capacity_kwh = 500;
      if (k.kind === 'parking_lot') attributes.spaces = [120, 300, 800][i % 3];
      if (k.kind === 'water_level') Object.assign(attributes, { warning_m: 2.0, danger_m: 3.0 });
      sensors.push(withZone({
        id: `${k.prefix}-${zoneId}-${pad(i + 1, k.domain === 'welfare' ? 3 : 2)}`,
        domain: k.domain, kind: k.kind, location: point(p.loc),
        metrics: k.metrics, attributes,
      }, zoneId));
    });
  }
}

const world = {
  city: { id: 'sokcho', name: { ko: '속초시', en: 'Sokcho' }, province: { ko: '강원특별자치도', en: 'Gangwon State' }, timezone: 'Asia/Seoul' },
  generated_by: 'config/demo/generate.mjs',
  zones, facilities, sensors,
};

// One object a line for the long lists, so diffs stay readable.
function render(w) {
  const line = (o) => '    ' + JSON.stringify(o);
  const list = (name, items) => `  "${name}": [\n${items.map(line).join(',\n')}\n  ]`;
  return '{\n'
    + `  "city": ${JSON.stringify(w.city)},\n`
    + `  "generated_by": ${JSON.stringify(w.generated_by)},\n`
    + `${list('zones', w.zones)},\n${list('facilities', w.facilities)},\n${list('sensors', w.sensors)}\n}\n`;
}

const text = render(world);
if (process.argv.includes('--check')) {
  let old = '';
  try { old = readFileSync(OUT, 'utf8'); } catch { /* missing */ }
  if (old !== text) {
    console.error(`${OUT} is out of date: run node config/demo/generate.mjs`);
    process.exit(1);
  }
  console.log(`${OUT} is up to date`);
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}: ${zones.length} zones, ${facilities.length} facilities, ${sensors.length} sensors`);
}
