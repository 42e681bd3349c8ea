#!/usr/bin/env bash
# Set up and run every check: lint, types, the unit and functional suite, a publish of the
# sample on Python 3.12 and 3.13 (scripts/smoke_python.sh), and — where the team's
# ../shared/s3 is present (developer machines and CI) — the suite against Ceph RGW.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)   # speech for realistic audio fixtures
command -v java >/dev/null || missing+=(default-jre-headless)   # the Nu Html Checker (site tests)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The site's browser tests drive Debian's chromium through Playwright (pip cannot fetch a
# browser here). Where it cannot be installed they are skipped, saying so; nothing else is.
if ! command -v chromium >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || echo "(chromium could not be installed: the browser tests will be skipped)"
fi
bash scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest -q -m "not integration"
bash scripts/smoke_python.sh   # the sample publishes on Python 3.12 and 3.13 too
if [ -f ../shared/s3/start-ceph-rgw.sh ]; then
  PYTHON=.venv/bin/python bash scripts/ci_s3.sh
else
  echo "(../shared/s3 not found: skipping the integration suite against Ceph RGW)"
fi
