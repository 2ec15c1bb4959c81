#!/usr/bin/env bash
# Installs Debian's firefox-esr package if /usr/bin/firefox-esr is missing (idempotent, quiet): the browser tests
# (test/browser/*.test.ts, issue 21) drive it with puppeteer-core over WebDriver BiDi. Nothing downloads a browser
# otherwise (puppeteer-core never does).
set -euo pipefail
if [ -x /usr/bin/firefox-esr ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq firefox-esr >/dev/null
