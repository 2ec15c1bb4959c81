#!/usr/bin/env bash
# Installs the Debian prosody package if it is missing (idempotent, quiet). Used by .ci/run before the
# XMPP tests; test/helpers/prosody.ts starts its own Prosody from a private config, so the packaged
# system service is stopped/disabled when possible (it would otherwise hold port 5222).
# NOTE: never run `prosody --version` to probe it: that starts a server.
set -euo pipefail
if command -v prosody >/dev/null 2>&1 && command -v prosodyctl >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends prosody >/dev/null
# The package may start its own daemon; our harness does not need it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  $SUDO systemctl disable --now prosody >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  $SUDO service prosody stop >/dev/null 2>&1 || true
fi
command -v prosody >/dev/null
