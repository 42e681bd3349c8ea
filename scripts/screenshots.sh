#!/usr/bin/env bash
# Regenerate docs/screenshots/ (shown in README.md): the show page and an episode page at a
# desktop (1280x800) and a phone (390x844) size, published from the sample show and served
# as `dfl-audio serve` does, in Debian's chromium. The browser test that checks the same
# screenshots in CI takes them (tests/browser/test_site_browser.py::test_screenshots).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
bash scripts/setup.sh test
DFL_AUDIO_SCREENSHOTS=docs/screenshots .venv/bin/pytest -q -p no:cacheprovider \
  tests/browser/test_site_browser.py -k test_screenshots
ls -l docs/screenshots/*.png
