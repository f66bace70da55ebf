#!/usr/bin/env bash
# Install the system services the test suite needs (PostgreSQL, Redis, Chromium) when missing.
set -euo pipefail
missing=()
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || missing+=(postgresql postgresql-contrib)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
# The benchmark harness's load generator (bench/lua); the CI smoke test runs its scripts.
command -v wrk >/dev/null || missing+=(wrk)
# Chinese glyphs for the screenshots the browser tests save.
fc-list 2>/dev/null | grep -qi "wqy\|noto sans cjk" || missing+=(fonts-wqy-microhei)
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} (apt, --no-install-recommends)..."
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
