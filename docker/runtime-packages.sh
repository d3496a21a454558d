#!/usr/bin/env bash
# Prints, one a line, the Debian packages that hold the shared libraries a program links against
# (for docker/Dockerfile's runtime stage, so that its package list follows the build, not a hand list).
# Exits non-zero when a library belongs to no installed package.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PROGRAM" >&2; exit 64; }

owner() {  # owner PATH: the package that installed PATH (tries the merged-/usr twins too)
  local p=$1 real
  real=$(readlink -f "$p")
  for c in "$p" "$real" "${p#/usr}" "/usr$p" "${real#/usr}" "/usr$real"; do
    dpkg -S "$c" 2>/dev/null | head -n1 | cut -d: -f1 && return 0
  done
  echo "runtime-packages: no package holds $p" >&2
  return 1
}

libs=$(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
[ -n "$libs" ] || { echo "runtime-packages: $1 links no shared library" >&2; exit 1; }
for l in $libs; do owner "$l"; done | sort -u
