#!/usr/bin/env bash
# Bring up what the sandbox needs, idempotently: docker.io + debootstrap, a running dockerd, the image.
# Safe to run again: each step is skipped when already done. Needs root (or sudo) for the first two.
# Env: DOCKERD_WAIT_S (default 60) how long to wait for a fresh dockerd; DOCKERD_LOG (default /tmp/dockerd.log).
set -euo pipefail

WAIT_S="${DOCKERD_WAIT_S:-60}"
LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

say() { printf '[docker-up] %s\n' "$*"; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  say "dockerd already running"
else
  say "starting dockerd (log: $LOG)"
  $SUDO sh -c "nohup dockerd > '$LOG' 2>&1 &"
  waited=0
  until docker info >/dev/null 2>&1; do
    if [ "$waited" -ge "$WAIT_S" ]; then
      say "ERROR: dockerd did not come up within ${WAIT_S}s; last lines of $LOG:"
      tail -n 20 "$LOG" >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "dockerd is up after ${waited}s"
fi

if command -v cosr >/dev/null 2>&1; then
  cosr sandbox build
else
  python3 -c 'from cosr.cli import app; app()' sandbox build
fi
