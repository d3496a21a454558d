# The operator dashboard (web/): npm packages and the Vite build into web/dist, which maeuld serves.
# Source it after common.sh. Defines maeul_build_web and maeul_web_deps DIR.
#   MAEUL_SKIP_WEB=1   do nothing (a machine without npm; maeuld then answers that the dashboard is not built)
#   MAEUL_WEB_FORCE=1  build even when web/dist looks up to date

# maeul_web_deps DIR: `npm ci` (or `npm install` without a lock file) in DIR, unless node_modules is already
# as new as package.json and package-lock.json (so an installed tree builds offline).
maeul_web_deps() {
  local dir=$1 stamp=$1/node_modules/.package-lock.json
  command -v npm >/dev/null || die "npm is needed for $dir (Debian package npm)"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package.json" ] \
     && { [ ! -f "$dir/package-lock.json" ] || [ "$stamp" -nt "$dir/package-lock.json" ]; }; then
    return 0
  fi
  log "installing npm packages in ${dir#"$MAEUL_ROOT"/}"
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
}

# Builds web/dist unless it is newer than every source of the dashboard.
maeul_build_web() {
  local web=$MAEUL_ROOT/web
  [ "${MAEUL_SKIP_WEB:-}" = 1 ] && { log "skipping the dashboard build (MAEUL_SKIP_WEB=1)"; return 0; }
  [ -f "$web/package.json" ] || return 0
  local stamp=$web/dist/index.html newer=""
  if [ -f "$stamp" ] && [ "${MAEUL_WEB_FORCE:-}" != 1 ]; then
    newer=$(find "$web/index.html" "$web/package.json" "$web/package-lock.json" "$web"/vite.config.* \
      "$web/src" "$web/public" -newer "$stamp" -print -quit 2>/dev/null || true)
    if [ -z "$newer" ]; then
      log "dashboard up to date (web/dist)"
      return 0
    fi
  fi
  maeul_web_deps "$web"
  log "building the dashboard into web/dist"
  (cd "$web" && npm run --silent build -- --logLevel warn) || die "the dashboard build failed (web/)"
  touch "$stamp"
}
