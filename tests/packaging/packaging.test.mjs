// Checks of the deployment files: docker/compose.yaml, docker/Dockerfile, packaging/maeuld.service and
// packaging/install.sh. Building and running the images is not part of it (base images may not be
// pullable); docker/smoke-test.sh does that where a container engine works.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, statSync, existsSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p) => readFileSync(join(root, p), 'utf8');

describe('docker/compose.yaml', () => {
  const text = read('docker/compose.yaml');
  const doc = YAML.parseDocument(text);
  const compose = doc.toJS();

  test('parses as YAML without errors or warnings', () => {
    assert.deepEqual(doc.errors.map(String), []);
    assert.deepEqual(doc.warnings.map(String), []);
  });

  test('has the three services, each with a health check', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['maeuld', 'mosquitto', 'postgis']);
    for (const [name, svc] of Object.entries(compose.services)) {
      assert.ok(svc.healthcheck, `${name} has no healthcheck`);
      const t = svc.healthcheck.test;
      // The exec form (CMD) is mangled by podman-compose 1.0.3, Debian 12's.
      assert.ok(Array.isArray(t) && t[0] === 'CMD-SHELL' && t.length === 2, `${name}: healthcheck.test ${t}`);
    }
    assert.ok(compose.services.maeuld.healthcheck.test.join(' ').includes('/healthz'));
  });

  test('keeps the database, the spool and the key directory in named volumes', () => {
    const named = Object.keys(compose.volumes ?? {});
    const mounts = (svc) => Object.fromEntries((compose.services[svc].volumes ?? []).map((v) => {
      const [src, dst] = v.split(':');
      return [dst, src];
    }));
    const pg = mounts('postgis'), m = mounts('maeuld');
    assert.ok(named.includes(pg['/var/lib/postgresql/data']), 'database data in a named volume');
    assert.ok(named.includes(m['/var/lib/maeul/spool']), 'spool in a named volume');
    assert.ok(named.includes(m['/var/lib/maeul/keys']), 'key directory in a named volume');
    assert.equal(compose.services.maeuld.environment.MAEUL_SPOOL_DIR, '/var/lib/maeul/spool');
    assert.ok(compose.services.maeuld.environment.MAEUL_PRIVACY_KEY_FILE.startsWith('/var/lib/maeul/keys/'));
  });

  test('maeuld reaches the postgis service, waits for it, and listens on all addresses', () => {
    const svc = compose.services.maeuld;
    const url = new URL(svc.environment.MAEUL_DB_URL);
    assert.equal(url.protocol, 'postgresql:');
    assert.equal(url.hostname, 'postgis');
    assert.equal(url.password, '', 'no password in the URL (it comes from docker/.env as PGPASSWORD)');
    assert.equal(svc.environment.MAEUL_HTTP_LISTEN, '0.0.0.0:8080');
    assert.equal(svc.depends_on.postgis.condition, 'service_healthy');
    assert.equal(svc.build.dockerfile, 'docker/Dockerfile');
    // Docker's default of 10 s would cut the shutdown drain short.
    assert.ok(parseInt(svc.stop_grace_period, 10) > 10, 'stop_grace_period longer than the default grace');
  });

  test('secrets come from docker/.env, which is ignored by git and documented in .env.example', () => {
    const svc = compose.services.maeuld;
    assert.match(String(svc.environment.MAEUL_BOOTSTRAP_TOKEN), /^\$\{MAEUL_BOOTSTRAP_TOKEN[:}?-]/);
    assert.match(String(svc.environment.PGPASSWORD), /^\$\{MAEUL_DB_PASSWORD/);
    const example = read('docker/.env.example');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const used = new Set([...text.matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
    for (const v of used) assert.ok(documented.has(v), `${v} is used by compose.yaml but not in docker/.env.example`);
    const ignored = spawnSync('git', ['-C', root, 'check-ignore', '-q', 'docker/.env']);
    assert.equal(ignored.status, 0, 'git ignores docker/.env');
    const tracked = execFileSync('git', ['-C', root, 'ls-files', 'docker/.env'], { encoding: 'utf8' });
    assert.equal(tracked, '', 'docker/.env is not committed');
  });

  test('mosquitto gets its config, ACL template and entry point from docker/mosquitto/', () => {
    const svc = compose.services.mosquitto;
    assert.ok(svc.volumes.some((v) => v.startsWith('./mosquitto:')), 'docker/mosquitto mounted');
    for (const f of ['mosquitto.conf', 'acl.template', 'entrypoint.sh', 'Dockerfile'])
      assert.ok(existsSync(join(root, 'docker/mosquitto', f)), f);
    const conf = read('docker/mosquitto/mosquitto.conf');
    assert.match(conf, /^allow_anonymous false$/m);
    assert.match(conf, /^password_file \S+/m);
    assert.match(conf, /^acl_file \S+/m);
  });

  test('the images of postgis and mosquitto build from debian:bookworm', () => {
    for (const f of ['docker/postgis/Dockerfile', 'docker/mosquitto/Dockerfile'])
      assert.match(read(f), /^FROM debian:bookworm\s*$/m, f);
    assert.match(read('docker/postgis/Dockerfile'), /postgresql-15-postgis-3/);
  });
});

// Splits a Dockerfile into stages of instructions (continuation lines joined, comments dropped).
function dockerfileStages(text) {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = [];
  for (const l of lines) {
    const [op, ...rest] = l.split(/\s+/);
    const ins = { op: op.toUpperCase(), args: rest.join(' ') };
    if (ins.op === 'FROM') stages.push({ from: ins.args, ins: [] });
    else if (ins.op !== 'ARG' || stages.length) stages.at(-1).ins.push(ins);
  }
  return stages;
}

describe('docker/Dockerfile', () => {
  const stages = dockerfileStages(read('docker/Dockerfile'));
  const [build, runtime] = stages;
  const all = (stage, op) => stage.ins.filter((i) => i.op === op).map((i) => i.args);

  test('has a build stage and a runtime stage, both on debian:bookworm', () => {
    assert.equal(stages.length, 2);
    assert.match(build.from, /^debian:bookworm AS build$/i);
    assert.equal(runtime.from, 'debian:bookworm');
  });

  test('the build stage installs the packages of scripts/lib/common.sh and runs scripts/build', () => {
    const runs = all(build, 'RUN').join('\n');
    assert.match(runs, /source scripts\/lib\/common\.sh && maeul_install_deps/);
    assert.match(runs, /(^|&&\s*|\s)scripts\/build(\s|$)/m);
    // scripts/build is what the Dockerfile calls; it must still be the release build of build/maeuld.
    const script = read('scripts/build');
    assert.match(script, /maeul_install_deps/);
    assert.match(script, /maeul_build "\$MAEUL_ROOT\/build" Release/);
    assert.match(script, /maeul_build_web/);
    // The package list lives in common.sh only.
    assert.doesNotMatch(read('docker/Dockerfile'), /libboost|libpqxx-dev|build-essential/);
  });

  test('the runtime stage has no build tools and runs as the user maeul', () => {
    const runs = all(runtime, 'RUN').join('\n');
    assert.doesNotMatch(runs, /-dev\b|build-essential|cmake|npm/);
    assert.match(runs, /useradd[^&]*\bmaeul\b/);
    assert.deepEqual(all(runtime, 'USER'), ['maeul']);
  });

  test('the runtime stage carries the binary, the dashboard and the example config', () => {
    const copies = all(runtime, 'COPY');
    assert.ok(copies.some((c) => /--from=build\s+\S*maeuld\s+\/usr\/local\/bin\/maeuld$/.test(c)), 'binary');
    const web = copies.find((c) => /--from=build\s+\S*web\/?\s/.test(c));
    assert.ok(web, 'dashboard');
    const webDest = web.split(/\s+/).at(-1).replace(/\/$/, '');
    const env = all(runtime, 'ENV').join(' ');
    assert.ok(env.includes(`MAEUL_HTTP_WEB_ROOT=${webDest}`), 'http.web_root points at the copied dashboard');
    assert.ok(copies.some((c) => /^config\/maeul\.example\.toml\s+\/etc\/maeul\/maeul\.toml$/.test(c)), 'config');
    assert.match(read('config/maeul.example.toml'), /^web_root = ""$/m);
  });

  test('listens on 0.0.0.0:8080, exposes it, checks /healthz and declares the volumes', () => {
    assert.match(all(runtime, 'ENV').join(' '), /MAEUL_HTTP_LISTEN=0\.0\.0\.0:8080\b/);
    assert.match(all(runtime, 'ENV').join(' '), /MAEUL_SPOOL_DIR=\/var\/lib\/maeul\/spool\b/);
    assert.deepEqual(all(runtime, 'EXPOSE'), ['8080']);
    const hc = all(runtime, 'HEALTHCHECK').join(' ');
    assert.match(hc, /CMD .*http:\/\/127\.0\.0\.1:8080\/healthz/);
    const vols = JSON.parse(all(runtime, 'VOLUME')[0]);
    assert.ok(vols.includes('/var/lib/maeul') && vols.includes('/var/lib/maeul/spool'), String(vols));
    assert.match(all(runtime, 'CMD')[0], /"serve"/);
  });

  test('runtime-packages.sh names the packages of the libraries a program links', () => {
    const out = execFileSync('bash', [join(root, 'docker/runtime-packages.sh'), '/bin/ls'], { encoding: 'utf8' });
    assert.ok(out.split('\n').includes('libc6'), out);
  });
});

// A minimal parse of a systemd unit: { section: { key: [values...] } }.
function parseUnit(text) {
  const out = {};
  let section = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const s = line.match(/^\[([A-Za-z]+)\]$/);
    if (s) { section = s[1]; out[section] ??= {}; return; }
    const kv = line.match(/^([A-Za-z][A-Za-z0-9]*)=(.*)$/);
    assert.ok(section && kv, `line ${i + 1} is neither a section nor Key=value: ${raw}`);
    (out[section][kv[1]] ??= []).push(kv[2]);
  });
  return out;
}

describe('packaging/maeuld.service', () => {
  const text = read('packaging/maeuld.service');
  const unit = parseUnit(text);
  const svc = unit.Service;
  const one = (k) => { assert.ok(svc[k], `${k} is set`); return svc[k].at(-1); };

  test('parses as a unit with [Unit], [Service] and [Install]', () => {
    assert.deepEqual(Object.keys(unit), ['Unit', 'Service', 'Install']);
    assert.equal(unit.Install.WantedBy[0], 'multi-user.target');
  });

  test('runs maeuld serve as maeul with its environment file', () => {
    assert.equal(one('ExecStart'), '/usr/local/bin/maeuld serve --config /etc/maeul/maeul.toml');
    assert.equal(one('User'), 'maeul');
    assert.equal(one('EnvironmentFile'), '/etc/maeul/maeul.env');
    assert.equal(one('Restart'), 'on-failure');
    assert.match(one('StateDirectory'), /(^| )maeul( |$)/);
  });

  test('is hardened', () => {
    const want = {
      ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', NoNewPrivileges: 'yes',
      CapabilityBoundingSet: '', SystemCallFilter: '@system-service',
    };
    for (const [k, v] of Object.entries(want)) assert.ok(svc[k]?.includes(v), `${k}=${v}`);
    assert.deepEqual(one('RestrictAddressFamilies').split(/\s+/).sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
    assert.ok(svc.ReadWritePaths?.some((p) => p.split(/\s+/).includes('/var/lib/maeul/spool')), 'spool writable');
  });

  test('waits long enough for the shutdown drain', () => {
    const toml = read('config/maeul.example.toml');
    const grace = Number(toml.match(/^shutdown_grace_ms = (\d+)/m)[1]) / 1000;
    const stmt = Number(toml.match(/^statement_timeout_ms = (\d+)/m)[1]) / 1000;
    const stop = parseInt(one('TimeoutStopSec'), 10);
    assert.ok(stop > grace + stmt, `TimeoutStopSec ${stop} s > shutdown grace ${grace} s + statement timeout ${stmt} s`);
  });

  test('systemd-analyze verify finds nothing wrong', (t) => {
    const which = spawnSync('sh', ['-c', 'command -v systemd-analyze']);
    if (which.status !== 0) { t.skip('systemd-analyze is not installed; the unit was checked by the parse above'); return; }
    // verify insists that ExecStart's program exists: point it at a stand-in.
    const dir = mkdtempSync(join(tmpdir(), 'maeul-unit-'));
    try {
      const fake = join(dir, 'maeuld');
      writeFileSync(fake, '#!/bin/sh\n');
      chmodSync(fake, 0o755);
      const unitPath = join(dir, 'maeuld.service');
      writeFileSync(unitPath, text.replaceAll('/usr/local/bin/maeuld', fake));
      const r = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
      // verify exits 0 on unknown keys and bad values but prints them: any line about our file fails.
      const about = (r.stderr + r.stdout).split('\n').filter((l) => l.includes(unitPath) || l.startsWith('maeuld.service'));
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(about, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('packaging/install.sh', () => {
  const mode = (p) => (statSync(p).mode & 0o777).toString(8);

  test('installs binary, dashboard, config and unit into DESTDIR, twice, keeping local config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maeul-install-'));
    try {
      const bin = join(dir, 'maeuld');
      writeFileSync(bin, '#!/bin/sh\necho maeuld-1\n');
      chmodSync(bin, 0o755);
      const dist = join(dir, 'dist');
      mkdirSync(join(dist, 'assets'), { recursive: true });
      writeFileSync(join(dist, 'index.html'), '<!doctype html>');
      writeFileSync(join(dist, 'assets', 'old.js'), 'old');
      const dest = join(dir, 'root');
      const env = { ...process.env, DESTDIR: dest, MAEUL_BIN: bin, MAEUL_WEB_DIST: dist };
      const run = () => execFileSync('bash', [join(root, 'packaging/install.sh')], { env, encoding: 'utf8', stdio: 'pipe' });
      run();

      const f = (p) => join(dest, p);
      assert.equal(mode(f('usr/local/bin/maeuld')), '755');
      assert.equal(mode(f('usr/local/share/maeul/web/index.html')), '644');
      assert.equal(mode(f('etc/maeul/maeul.toml')), '640');
      assert.equal(mode(f('etc/maeul/maeul.env')), '600');
      assert.equal(mode(f('etc/systemd/system/maeuld.service')), '644');
      assert.ok(existsSync(f('usr/local/share/doc/maeul/maeul.example.toml')));
      const toml = readFileSync(f('etc/maeul/maeul.toml'), 'utf8');
      assert.match(toml, /^web_root = "\/usr\/local\/share\/maeul\/web"$/m);
      assert.equal(readFileSync(f('etc/systemd/system/maeuld.service'), 'utf8'), read('packaging/maeuld.service'));

      // An upgrade: new binary and dashboard, the operator's config untouched, no stale assets.
      writeFileSync(join(dest, 'etc/maeul/maeul.toml'), '# edited by the operator\n');
      writeFileSync(bin, '#!/bin/sh\necho maeuld-2\n');
      rmSync(join(dist, 'assets', 'old.js'));
      writeFileSync(join(dist, 'assets', 'new.js'), 'new');
      run();
      assert.match(readFileSync(f('usr/local/bin/maeuld'), 'utf8'), /maeuld-2/);
      assert.equal(readFileSync(f('etc/maeul/maeul.toml'), 'utf8'), '# edited by the operator\n');
      assert.ok(existsSync(f('usr/local/share/maeul/web/assets/new.js')));
      assert.ok(!existsSync(f('usr/local/share/maeul/web/assets/old.js')), 'old dashboard files removed');
      assert.ok(!existsSync(f('usr/local/share/maeul/web.new')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a PREFIX moves the binary and the unit follows it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maeul-install-'));
    try {
      const bin = join(dir, 'maeuld');
      writeFileSync(bin, '#!/bin/sh\n');
      chmodSync(bin, 0o755);
      mkdirSync(join(dir, 'dist'));
      writeFileSync(join(dir, 'dist', 'index.html'), 'x');
      const dest = join(dir, 'root');
      execFileSync('bash', [join(root, 'packaging/install.sh')], {
        env: { ...process.env, DESTDIR: dest, PREFIX: '/opt/maeul', MAEUL_BIN: bin, MAEUL_WEB_DIST: join(dir, 'dist') },
        stdio: 'pipe',
      });
      assert.ok(existsSync(join(dest, 'opt/maeul/bin/maeuld')));
      const unit = parseUnit(readFileSync(join(dest, 'etc/systemd/system/maeuld.service'), 'utf8'));
      assert.equal(unit.Service.ExecStart[0], '/opt/maeul/bin/maeuld serve --config /etc/maeul/maeul.toml');
      assert.match(readFileSync(join(dest, 'etc/maeul/maeul.toml'), 'utf8'), /^web_root = "\/opt\/maeul\/share\/maeul\/web"$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses to install without a built binary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maeul-install-'));
    try {
      const r = spawnSync('bash', [join(root, 'packaging/install.sh')], {
        env: { ...process.env, DESTDIR: join(dir, 'root'), MAEUL_BIN: join(dir, 'missing') }, encoding: 'utf8',
      });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /run scripts\/build first/);
      assert.ok(!existsSync(join(dir, 'root', 'etc')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
