// Seeds a maeuld for the welfare benchmark (scripts/bench, case `welfare`): one zone, N residents
// registered through POST /api/v1/residents (sealed by the vault, each with a `create` access
// record) and N facilities (the baseline's plain database read). Writes the resident ids and the
// facility ids, one a line, to DIR/residents.txt and DIR/facilities.txt. Exits non-zero on any
// unexpected status. Not a test.
//   node bench/welfare_seed.mjs --url http://127.0.0.1:PORT --token TOKEN --residents 1000 --out DIR
import { writeFileSync } from "node:fs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf("--" + name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const url = arg("url");
const token = arg("token");
const n = +arg("residents", 1000);
const out = arg("out", ".");
const hdr = { authorization: "Bearer " + token, "content-type": "application/json" };

async function post(path, body, want = [201]) {
  const r = await fetch(url + path, { method: "POST", headers: hdr, body: JSON.stringify(body) });
  const text = await r.text();
  if (!want.includes(r.status)) throw new Error(`POST ${path}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

// n jobs, `width` at a time
async function inBatches(count, width, job) {
  for (let i = 0; i < count; i += width)
    await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, k) => job(i + k)));
}

const pad = (i) => String(i).padStart(5, "0");
const residents = new Array(n);
const facilities = new Array(n);

await post("/api/v1/zones", {
  id: "downtown", name: { ko: "중앙동", en: "Downtown" }, population: 21000, households: 9000,
  boundary: { type: "Polygon", coordinates: [[[128.585, 38.195], [128.6, 38.195], [128.6, 38.21], [128.585, 38.21], [128.585, 38.195]]] },
}, [201, 409]);

await inBatches(n, 16, async (i) => {
  const r = await post("/api/v1/residents", {
    name: `벤치 주민 ${pad(i)} (fictional)`,
    birth_year: 1930 + (i % 40),
    phone: `010-0000-${String(i % 10000).padStart(4, "0")}`,
    address: `강원 속초시 예시로 ${i + 1} (fictional)`,
    zone: "downtown",
    guardians: [{ name: `보호자 ${pad(i)} (fictional)`, phone: `010-1000-${String(i % 10000).padStart(4, "0")}`, relation: "daughter" }],
    care_worker: "care.bench",
    notes: "hard of hearing; call twice; lives alone on the second floor (benchmark record)",
    risk_level: ["low", "medium", "high"][i % 3],
    consent: { purpose: "emergency safety service for the elderly", basis: "consent (PIPA art. 15(1)1)", granted_at: "2026-11-01T00:00:00+09:00" },
  });
  residents[i] = r.id;
});

await inBatches(n, 16, async (i) => {
  const id = "fac-" + pad(i);
  await post("/api/v1/facilities", {
    id, category: ["clinic", "bus_stop", "grocery", "care_center"][i % 4],
    name: { ko: `시설 ${pad(i)}`, en: `Facility ${pad(i)}` },
    location: { type: "Point", coordinates: [128.586 + (i % 100) * 0.0001, 38.196 + Math.floor(i / 100) * 0.0001] },
  }, [201, 409]);
  facilities[i] = id;
});

writeFileSync(out + "/residents.txt", residents.join("\n") + "\n");
writeFileSync(out + "/facilities.txt", facilities.join("\n") + "\n");
console.log(`residents=${n} facilities=${n}`);
