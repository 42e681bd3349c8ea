#!/usr/bin/env bash
# The main job on the embedded default: validate the show, publish the sample episode to the
# local storage folder (normalize, encode, tag, store), regenerate the feed, say where it is.
# pip alone is enough: without a system ffmpeg, the one in the imageio-ffmpeg wheel is used.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
.venv/bin/dfl-audio validate
.venv/bin/dfl-audio publish   # ends with the feed's path and how to preview it (dfl-audio serve)
