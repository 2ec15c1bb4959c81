#!/usr/bin/env bash
# Installs Debian's chromium package if /usr/bin/chromium is missing (idempotent, quiet): the browser tests
# (test/browser/*.test.ts, issue 21) drive it with playwright-core. Nothing downloads a browser otherwise.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium >/dev/null
