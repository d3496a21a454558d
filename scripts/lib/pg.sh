# A private PostgreSQL 15 cluster in a directory of our own (no system service, no fixed port).
# Source it after common.sh. initdb refuses to run as root, so as root the cluster belongs to
# the postgres user. Defines: pg_private_start DIR [PORT], pg_private_stop DIR, and after a
# start the variables PG_PRIVATE_PORT, PG_PRIVATE_URL_BASE (postgresql://postgres@127.0.0.1:PORT).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_pg_free_port() {
  local port
  for _ in $(seq 200); do
    port=$(( (RANDOM % 12000) + 20000 ))  # below the ephemeral range (32768-): no clash with clients
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "$port"; return 0; fi
  done
  return 1
}

# pg_private_start DIR [PORT]: creates DIR/data on first use, starts it on 127.0.0.1:PORT
# (a free port when none is given; remembered in DIR/port), waits until it accepts connections.
pg_private_start() {
  local dir=$1 port=${2:-}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    # every parent must be traversable by postgres
    local d=$dir
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    _pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed in $dir"; }
  fi
  # A port picked here may be taken by another process before PostgreSQL binds it: then pick
  # another one (a port given by the caller, or remembered from an earlier start, is kept).
  local chosen=1
  if [ -z "$port" ]; then
    if [ -s "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(_pg_free_port); chosen=0; fi
  fi
  mkdir -p "$dir/run"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/run"
  if ! _pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    local attempt
    for attempt in 1 2 3 4 5; do
      _pg_as_owner sh -c "echo $port > '$dir/port'"
      if _pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/run -c fsync=${PG_FSYNC:-on} -c max_connections=200" start >/dev/null; then
        break
      fi
      if [ "$chosen" -eq 0 ] && [ "$attempt" -lt 5 ] && tail -20 "$dir/postgres.log" | grep -q "Address already in use"; then
        port=$(_pg_free_port)
        continue
      fi
      tail -20 "$dir/postgres.log" >&2
      die "PostgreSQL did not start (port $port)"
    done
  fi
  PG_PRIVATE_PORT=$port
  PG_PRIVATE_URL_BASE="postgresql://postgres@127.0.0.1:$port"
  export PG_PRIVATE_PORT PG_PRIVATE_URL_BASE
}

pg_private_stop() {
  local dir=$1
  [ -d "$dir/data" ] || return 0
  _pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# pg_private_psql DIR DB SQL...: runs SQL as the superuser.
pg_private_psql() {
  local db=$1; shift
  psql -X -q -v ON_ERROR_STOP=1 "$PG_PRIVATE_URL_BASE/$db" "$@"
}
