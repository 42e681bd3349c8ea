#!/usr/bin/env bash
# The main job on the embedded default: validate the show, publish the sample episode to the
# local storage folder (normalize, encode, tag, store), regenerate the feed, say where it is.
# pip alone is enough: without a system ffmpeg, the one in the imageio-ffmpeg wheel is used.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
.venv/bin/dfl-audio validate
.venv/bin/dfl-audio publish
echo
echo "Preview it as a podcast app would: .venv/bin/dfl-audio serve   (then subscribe to the URL it prints)"
