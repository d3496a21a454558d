#!/usr/bin/env node
// Generates config/demo/welfare.json: the welfare side of the Sokcho demo — its welfare officers and care
// workers (accounts without passwords: scripts/lib/load-world.mjs makes those), and one consenting resident
// for each welfare sensor of sokcho.json (56 homes with an activity monitor, 18 with an emergency button).
//
//   node config/demo/generate-welfare.mjs          writes welfare.json beside this file
//   node config/demo/generate-welfare.mjs --check  exits 1 when welfare.json is not what this file generates
//
// Every person is made up and says so: each name reads "가상 … (Fictional)", each phone number is
// 010-0000-xxxx (residents) or 010-0001-xxxx (guardians), numbers no Korean carrier hands out, each address is
// on the made-up street 가상로 ("Fictional-ro"), and each note starts with "가상 인물 / fictional person".
// Deterministic (a fixed-seed PRNG over the sensor ids): the output only changes when this file or the world's
// welfare sensors do. Edit this file, run it, commit both; config/demo/validate.mjs checks the result.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, 'welfare.json');
const world = JSON.parse(readFileSync(join(here, 'sokcho.json'), 'utf8'));

// A small deterministic generator (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const r = rng(20261122);
const pick = (list) => list[Math.floor(r() * list.length)];

const ZONE_NAMES = {
  station: { ko: '속초역세권', en: 'Station Area' },
  downtown: { ko: '원도심', en: 'Downtown' },
  cheongcho: { ko: '청초호·아바이마을', en: 'Cheongchoho & Abai Village' },
  seorak: { ko: '설악', en: 'Seorak' },
  daepo: { ko: '대포·외옹치', en: 'Daepo & Oeongchi' },
};

// The service (응급안전안심서비스) and the legal basis every consent names.
const CONSENT = {
  purpose: '응급안전안심서비스 / emergency safety service for the elderly',
  basis: 'consent (PIPA art. 15(1)1)',
};

// Households whose consent is not plain: one that has lapsed (the consent alert shows at once) and one that
// lapses within days. A lapsed home is not watched (its readings are withheld, its sensors leave the rules'
// clock ticks, its alerts do not climb), so both are emergency-button households: every activity monitor
// stays watched for the inactivity rule and the morning scenario. Neither button is the first of its zone
// (scripts/lib/seed-history.mjs presses those, and a withheld press would open no alert).
const SPECIAL = {
  'sos-seorak-002': { granted_days_ago: 370, expires_in_days: -5 },
  'sos-station-004': { granted_days_ago: 355, expires_in_days: 10 },
};

const SURNAMES = ['김', '이', '박', '최', '정', '강', '조', '윤', '장', '임', '한', '오', '서', '신', '권', '황', '안', '송', '전', '홍'];
const WOMEN = ['순자', '영자', '정자', '옥순', '말순', '복순', '춘자', '명숙', '순이', '옥자', '영숙', '정순', '금순', '분이', '점순',
  '봉순', '길순', '숙자', '경자', '화자', '귀녀', '막례', '선녀', '덕순'];
const MEN = ['영수', '만복', '상철', '병철', '춘식', '용남', '재복', '덕수', '판석', '길용', '영길', '성만', '동춘', '종태'];
const YOUNGER = ['민수', '지영', '현주', '성호', '은정', '정훈', '미경', '상민', '혜진', '동현', '수진', '영호', '윤희', '재원'];
const RELATIONS = ['아들 / son', '딸 / daughter', '며느리 / daughter-in-law', '사위 / son-in-law', '조카 / nephew or niece',
  '이웃 / neighbour'];
const NOTES = [
  '보청기 사용, 전화는 두 번 걸 것 / uses a hearing aid: call twice',
  '당뇨, 아침 식사 후 인슐린 / diabetic, insulin after breakfast',
  '무릎 수술 후 보행 보조기 사용 / uses a walker since a knee operation',
  '낮에는 경로당에 자주 감 / often at the senior centre by day',
  '고혈압 약 복용 / takes blood-pressure medicine',
  '기억력 저하 의심, 보호자와 상담 중 / memory problems suspected, talking with the family',
  '반려견 1마리, 문 열 때 주의 / one dog: mind the door',
  '겨울에는 전기장판 사용 / uses an electric mat in winter',
  '시력 저하, 글씨 큰 안내문 필요 / poor eyesight: large-print leaflets',
  '계단이 가파른 2층 주택 / lives upstairs, steep stairs',
  '주 2회 방문 간호 / home nurse twice a week',
  '특이사항 없음 / nothing in particular',
];
const RISKS = [['high', 0.2], ['medium', 0.45], ['low', 0.35]];

function risk() {
  let u = r();
  for (const [level, w] of RISKS) if ((u -= w) < 0) return level;
  return 'low';
}

const zones = Object.keys(ZONE_NAMES);
const welfare = world.sensors.filter((s) => s.domain === 'welfare')
  .sort((a, b) => (a.kind === b.kind ? (a.id < b.id ? -1 : 1) : a.kind === 'home_activity' ? -1 : 1));
const zoneOf = (s) => s.id.split('-')[1];  // validate.mjs checks that a sensor's id names the zone it lies in

const accounts = [];
for (const z of zones) {
  if (!welfare.some((s) => zoneOf(s) === z)) continue;
  accounts.push({
    username: `welfare-${z}`,
    display_name: `복지 담당 가상 ${pick(SURNAMES)}${pick(YOUNGER)} (Fictional) · ${ZONE_NAMES[z].ko} / welfare officer, ${ZONE_NAMES[z].en}`,
    role: 'welfare_officer',
    zones: [z],
    about: 'the zone\'s welfare officer at city hall: escalations of the care loop come to them',
  });
  accounts.push({
    username: `care-${z}`,
    display_name: `생활지원사 가상 ${pick(SURNAMES)}${pick(WOMEN)} (Fictional) · ${ZONE_NAMES[z].ko} / care worker, ${ZONE_NAMES[z].en}`,
    role: 'welfare_officer',
    zones: [z],
    about: 'the care worker of the zone\'s households (Maeul has no role of its own for care workers: a welfare_officer limited to the zone)',
  });
}

const residents = welfare.map((s, i) => {
  const n = i + 1;
  const woman = r() < 0.72;
  const surname = pick(SURNAMES);
  const guardians = [];
  for (let g = 0, count = r() < 0.35 ? 2 : 1; g < count; g++) {
    guardians.push({
      name: `가상 ${pick(SURNAMES)}${pick(YOUNGER)} (Fictional)`,
      phone: `010-0001-${String(n * 10 + g).padStart(4, '0')}`,
      relation: pick(RELATIONS),
    });
  }
  const consent = SPECIAL[s.id] ?? { granted_days_ago: 30 * (2 + Math.floor(r() * 9)), expires_in_days: 365 };
  return {
    sensor: s.id,
    zone: zoneOf(s),
    name: `가상 ${surname}${pick(woman ? WOMEN : MEN)} (Fictional)`,
    birth_year: 1932 + Math.floor(r() * 21),
    phone: `010-0000-${String(n).padStart(4, '0')}`,
    address: `강원특별자치도 속초시 가상로${1 + Math.floor(r() * 40)}번길 ${1 + Math.floor(r() * 60)} (가상 주소 / fictional address)`,
    guardians,
    care_worker: `care-${zoneOf(s)}`,
    risk_level: risk(),
    notes: `가상 인물 / fictional person. ${pick(NOTES)}`,
    consent,
  };
});

const doc = {
  about: 'The welfare side of the Sokcho demo (docs/demo.md, "Welfare"), generated by config/demo/generate-welfare.mjs: '
    + 'accounts (passwords are made by scripts/lib/load-world.mjs and kept in var/) and one resident per welfare sensor '
    + 'of sokcho.json ("sensor"). Everyone here is made up. Consent times are relative to the first load: granted '
    + 'granted_days_ago days before it, expiring expires_in_days after it (negative: lapsed already).',
  consent: CONSENT,
  accounts,
  residents,
};
const text = JSON.stringify(doc, null, 2) + '\n';
if (process.argv.includes('--check')) {
  let old = '';
  try { old = readFileSync(OUT, 'utf8'); } catch { /* missing */ }
  if (old !== text) {
    console.error('welfare.json is not what generate-welfare.mjs makes: run node config/demo/generate-welfare.mjs');
    process.exit(1);
  }
  console.log('welfare.json is up to date');
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}: ${accounts.length} accounts, ${residents.length} residents`);
}
