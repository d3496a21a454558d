#!/usr/bin/env bash
# Builds the three images of docker/compose.yaml and runs them the way compose does (one network,
# the same environment), then checks that maeuld answers /healthz and /readyz, serves the dashboard,
# reports healthy, and exits 0 on SIGTERM. Needs a container engine that can build and run images,
# and a pullable (or locally present) debian:bookworm. Not part of scripts/test. Cleans up after itself.
#   ENGINE          the engine command (default: podman if present, else docker), e.g. "podman --runtime runc"
#   ENGINE_RUN_OPTS extra options for build and run (e.g. "--ulimit nofile=1024:1024" where the engine
#                   cannot raise limits)
#   SKIP_BUILD=1    use the images already tagged maeul-smoke/{maeuld,postgis,mosquitto}
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null; then ENGINE=podman; else ENGINE=docker; fi
fi
read -r -a engine <<< "$ENGINE"
read -r -a opts <<< "${ENGINE_RUN_OPTS:-}"
e() { "${engine[@]}" "$@"; }
say() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'smoke-test: FAILED: %s\n' "$*" >&2; e logs maeul-smoke-maeuld 2>&1 | tail -20 >&2 || true; exit 1; }

net=maeul-smoke
cleanup() {
  e rm -f maeul-smoke-maeuld maeul-smoke-postgis maeul-smoke-mosquitto >/dev/null 2>&1 || true
  e volume rm -f maeul-smoke-pgdata >/dev/null 2>&1 || true
  e network rm "$net" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

if [ "${SKIP_BUILD:-}" != 1 ]; then
  say "building maeul-smoke/postgis, maeul-smoke/mosquitto, maeul-smoke/maeuld"
  # podman: the OCI format drops HEALTHCHECK, so build in docker's format; docker/'s ignore file by name.
  build=()
  [ "${engine[0]}" = podman ] && build=(--format docker --ignorefile "$root/docker/Dockerfile.dockerignore")
  e build "${opts[@]}" "${build[@]}" -t maeul-smoke/postgis "$root/docker/postgis"
  e build "${opts[@]}" "${build[@]}" -t maeul-smoke/mosquitto "$root/docker/mosquitto"
  e build "${opts[@]}" "${build[@]}" -f "$root/docker/Dockerfile" -t maeul-smoke/maeuld "$root"
fi

pw=$(openssl rand -hex 16) token=$(openssl rand -hex 24) mq=$(openssl rand -hex 16)
e network create "$net" >/dev/null
e volume create maeul-smoke-pgdata >/dev/null
say "starting postgis and mosquitto"
e run -d "${opts[@]}" --name maeul-smoke-postgis --network "$net" --network-alias postgis \
  -e POSTGRES_PASSWORD="$pw" -e MAEUL_DB_PASSWORD="$pw" -v maeul-smoke-pgdata:/var/lib/postgresql/data \
  maeul-smoke/postgis >/dev/null
e run -d "${opts[@]}" --name maeul-smoke-mosquitto --network "$net" --network-alias mosquitto \
  -e MQTT_MAEULD_USER=maeuld -e MQTT_MAEULD_PASSWORD="$mq" -e MQTT_DEVICE_USER=device -e MQTT_DEVICE_PASSWORD="$mq" \
  -v "$root/docker/mosquitto:/etc/mosquitto/maeul:ro" maeul-smoke/mosquitto >/dev/null

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local until=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt "$until" ] || fail "$what did not happen in time"
    sleep 2
  done
  say "$what"
}
wait_for 120 "postgis accepts connections" e exec maeul-smoke-postgis pg_isready -q -h 127.0.0.1 -U maeul -d maeul
wait_for 60 "mosquitto answers the maeuld user" e exec maeul-smoke-mosquitto \
  mosquitto_sub -h 127.0.0.1 -u maeuld -P "$mq" -t '$SYS/broker/uptime' -C 1 -W 3
if e exec maeul-smoke-mosquitto mosquitto_pub -h 127.0.0.1 -u nobody -P wrong -t maeul/v1/obs/x -m 1 >/dev/null 2>&1; then
  fail "mosquitto accepted a client without a valid password"
fi

say "starting maeuld"
e run -d "${opts[@]}" --name maeul-smoke-maeuld --network "$net" -p 127.0.0.1::8080 \
  -e MAEUL_DB_URL=postgresql://maeul@postgis:5432/maeul -e PGPASSWORD="$pw" -e MAEUL_BOOTSTRAP_TOKEN="$token" \
  -e MAEUL_MQTT_URL=mqtt://mosquitto:1883 maeul-smoke/maeuld >/dev/null
port=$(e port maeul-smoke-maeuld 8080/tcp | head -n1 | sed 's/.*://')
base=http://127.0.0.1:$port
wait_for 120 "maeuld answers /healthz on $base" curl -fsS --max-time 2 "$base/healthz"
[ "$(curl -fsS "$base/healthz")" = '{"status":"ok"}' ] || fail "/healthz body"
curl -fsS --max-time 5 "$base/readyz" | grep -q '"database":"ok"' || fail "/readyz does not see the database"
curl -fsS --max-time 5 -H 'Accept: text/html' "$base/" | grep -qi '<html' || fail "the dashboard is not served"
curl -fsS --max-time 5 -H "Authorization: Bearer $token" "$base/api/v1/zones" >/dev/null || fail "the bootstrap token is refused"
[ "$(e exec maeul-smoke-maeuld id -un)" = maeul ] || fail "maeuld does not run as maeul"
if e healthcheck run maeul-smoke-maeuld >/dev/null 2>&1 || [ "${engine[0]}" != podman ]; then
  say "the image's HEALTHCHECK passes"
else
  fail "the image's HEALTHCHECK fails"
fi

say "stopping maeuld with SIGTERM"
e stop -t 60 maeul-smoke-maeuld >/dev/null
code=$(e inspect -f '{{.State.ExitCode}}' maeul-smoke-maeuld)
[ "$code" = 0 ] || fail "maeuld exited $code after SIGTERM"
e logs maeul-smoke-maeuld 2>&1 | grep -q 'listening on http://0.0.0.0:8080' || fail "no 'listening on' line"
say "smoke test passed"
