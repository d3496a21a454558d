#!/usr/bin/env bash
# Installs maeuld on a machine without containers: the binary, the dashboard's files, the example
# config (as /etc/maeul/maeul.toml, only when there is none), the environment file template and the
# systemd unit. Run it again to upgrade: it replaces the binary, the dashboard and the unit, and never
# touches an existing /etc/maeul/maeul.toml or /etc/maeul/maeul.env. Run scripts/build first.
#   DESTDIR   stage into this directory instead of / (no user is created, systemd is not called)
#   PREFIX    where the binary and the dashboard go (default /usr/local)
#   MAEUL_BIN, MAEUL_WEB_DIST   the binary and dashboard to install (default build/maeuld, web/dist)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
bin=${MAEUL_BIN:-$root/build/maeuld}
web=${MAEUL_WEB_DIST:-$root/web/dist}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[ -x "$bin" ] || die "no executable $bin: run scripts/build first (or set MAEUL_BIN)"
[ -f "$web/index.html" ] || die "no dashboard in $web: run scripts/build with npm (or set MAEUL_WEB_DIST)"
[ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ] && die "run as root (or set DESTDIR to stage the files)"

web_dir=$PREFIX/share/maeul/web

# 1. the system user (not when staging into DESTDIR)
if [ -z "$DESTDIR" ] && ! getent passwd maeul >/dev/null; then
  say "creating the system user maeul"
  getent group maeul >/dev/null || groupadd --system maeul
  useradd --system --gid maeul --home-dir /var/lib/maeul --no-create-home --shell /usr/sbin/nologin maeul
fi
group=root
[ -z "$DESTDIR" ] && group=maeul

# 2. the binary, atomically (a running maeuld keeps its old inode until restarted)
install -d -m 755 "$DESTDIR$PREFIX/bin"
install -m 755 "$bin" "$DESTDIR$PREFIX/bin/.maeuld.new"
mv -f "$DESTDIR$PREFIX/bin/.maeuld.new" "$DESTDIR$PREFIX/bin/maeuld"
say "installed $PREFIX/bin/maeuld"

# 3. the dashboard: replaced whole, so no file of an older build is left behind
install -d -m 755 "$DESTDIR$PREFIX/share/maeul"
rm -rf "$DESTDIR$web_dir.new"
cp -R "$web" "$DESTDIR$web_dir.new"
chmod -R u=rwX,go=rX "$DESTDIR$web_dir.new"
rm -rf "$DESTDIR$web_dir"
mv "$DESTDIR$web_dir.new" "$DESTDIR$web_dir"
say "installed the dashboard in $web_dir"

# 4. the config: the example always (for reference), maeul.toml and maeul.env only if missing
install -d -m 755 "$DESTDIR$PREFIX/share/doc/maeul"
install -m 644 "$root/config/maeul.example.toml" "$DESTDIR$PREFIX/share/doc/maeul/maeul.example.toml"
install -m 644 "$root/packaging/maeul.env.example" "$DESTDIR$PREFIX/share/doc/maeul/maeul.env.example"
install -d -m 755 "$DESTDIR/etc/maeul"
if [ ! -e "$DESTDIR/etc/maeul/maeul.toml" ]; then
  sed -e "s|^web_root = \"\"|web_root = \"$web_dir\"|" "$root/config/maeul.example.toml" > "$DESTDIR/etc/maeul/maeul.toml.new"
  grep -q "^web_root = \"$web_dir\"" "$DESTDIR/etc/maeul/maeul.toml.new" || die "config/maeul.example.toml has no 'web_root = \"\"' line to set"
  chmod 640 "$DESTDIR/etc/maeul/maeul.toml.new"
  [ -z "$DESTDIR" ] && chgrp "$group" "$DESTDIR/etc/maeul/maeul.toml.new"
  mv "$DESTDIR/etc/maeul/maeul.toml.new" "$DESTDIR/etc/maeul/maeul.toml"
  say "installed /etc/maeul/maeul.toml (http.web_root = $web_dir)"
else
  say "kept the existing /etc/maeul/maeul.toml (compare with $PREFIX/share/doc/maeul/maeul.example.toml)"
fi
if [ ! -e "$DESTDIR/etc/maeul/maeul.env" ]; then
  install -m 600 "$root/packaging/maeul.env.example" "$DESTDIR/etc/maeul/maeul.env"
  say "installed /etc/maeul/maeul.env: set MAEUL_DB_URL (and the first start's MAEUL_BOOTSTRAP_TOKEN) there"
else
  say "kept the existing /etc/maeul/maeul.env"
fi

# 5. the unit, with ExecStart pointing at this PREFIX
install -d -m 755 "$DESTDIR/etc/systemd/system"
sed -e "s|/usr/local/bin/maeuld|$PREFIX/bin/maeuld|g" "$root/packaging/maeuld.service" > "$DESTDIR/etc/systemd/system/maeuld.service.new"
chmod 644 "$DESTDIR/etc/systemd/system/maeuld.service.new"
mv "$DESTDIR/etc/systemd/system/maeuld.service.new" "$DESTDIR/etc/systemd/system/maeuld.service"
say "installed /etc/systemd/system/maeuld.service"

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  say "next: edit /etc/maeul/maeul.env, then: systemctl enable --now maeuld   (or systemctl restart maeuld after an upgrade)"
fi
