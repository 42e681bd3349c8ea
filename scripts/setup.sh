#!/usr/bin/env bash
# Create .venv (once) and install dfl-audio into it: `source scripts/setup.sh [extra]`.
# Shared by scripts/demo.sh and scripts/test.sh so both set up the same way.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
extra="${1:-}"
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv 2>/dev/null; then
    # Debian's python3 ships venv separately; we run as root on the team's machines.
    rm -rf .venv
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e ".${extra:+[$extra]}" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import dfl_audio" # fail loudly if the install did not take
