# Shared helpers for scripts/*: installing what is missing and building.
# Source it; it defines functions only and changes no state by itself.

MAEUL_ROOT=${MAEUL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# Debian packages the build, the tests, the demo and the benchmarks need.
MAEUL_APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libboost1.81-dev libpqxx-dev libpq-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libtomlplusplus-dev tzdata libssl-dev libsodium-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 postgresql-15-postgis-3 postgresql-client-15 postgresql-common
  mosquitto mosquitto-clients libmosquitto-dev nodejs npm
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the missing Debian packages (as root, or through sudo when present).
maeul_install_deps() {
  local missing=() p
  for p in "${MAEUL_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  # node/npm may come from elsewhere (nodesource, nvm): accept a working binary
  local filtered=()
  for p in "${missing[@]}"; do
    case "$p" in
      nodejs) command -v node >/dev/null || filtered+=("$p") ;;
      npm) command -v npm >/dev/null || filtered+=("$p") ;;
      *) filtered+=("$p") ;;
    esac
  done
  [ ${#filtered[@]} -eq 0 ] && return 0
  log "installing: ${filtered[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
}

# Configures and builds into $1 (default build/) with build type $2 (default Release).
maeul_build() {
  local dir=${1:-$MAEUL_ROOT/build} type=${2:-Release}
  shift 2 2>/dev/null || true
  cmake -S "$MAEUL_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}
