#!/usr/bin/env bash
# dfl-audio must work on every Python the team runs, not just the one .venv was made with:
# for each version below, a fresh venv gets the package (no test extras), then publishes the
# sample episode into a throwaway copy of the show on local storage, with the sample clip as
# the show's outro so pydub's editing runs too (audioop is a separate package on 3.13). It
# must exit 0 and print nothing on stderr (-q: no progress), so a warning fails the smoke.
# It runs with PATH holding only the venv, as on a pip-only machine: ffmpeg is then the
# imageio-ffmpeg wheel's, and pydub must not complain that none is on PATH.
# Interpreters come from pyenv (or python3.X on PATH); a missing one is skipped, loudly.
# Usage: bash scripts/smoke_python.sh [VERSION...]   (default: 3.12 3.13)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.12 3.13)

find_python() {  # newest pyenv build of version $1, else python$1 on PATH
  local root found
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  found="$(ls -d "$root/versions/$1".* 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$found" ] && [ -x "$found/bin/python" ]; then
    echo "$found/bin/python"
  elif command -v "python$1" >/dev/null; then
    command -v "python$1"
  fi
}

work="$(mktemp -d "${TMPDIR:-/tmp}/dfl-smoke-XXXXXX")"
trap 'rm -rf "$work"' EXIT
failed=0
for version in "${versions[@]}"; do
  python="$(find_python "$version")"
  if [ -z "$python" ]; then
    echo "smoke: Python $version not found (pyenv or python$version on PATH): SKIPPED"
    continue
  fi
  echo "smoke: Python $version ($("$python" -c 'import sys; print(sys.version.split()[0])'), $python)"
  venv="$work/venv-$version"
  project="$work/project-$version"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  "$venv/bin/python" -m pip install -q "$repo" 2>&1 | grep -v "^WARNING: Location" || true
  mkdir -p "$project/feeds"
  cp -r "$repo/episodes" "$project/episodes"
  echo "outro: episodes/audio/sample-clip.mp3" >>"$project/episodes/show.yaml"
  status=0
  PATH="$venv/bin" DFL_AUDIO_CACHE="$work/cache" "$venv/bin/dfl-audio" -q --root "$project" publish \
    --storage "$project/storage" >"$work/out" 2>"$work/err" || status=$?
  if [ "$status" -ne 0 ] || [ -s "$work/err" ]; then
    echo "smoke: Python $version: publish exited $status; stderr:"
    sed 's/^/  /' "$work/err"
    failed=1
  elif ! ls "$project"/storage/audio/welcome-*.mp3 >/dev/null 2>&1 \
    || [ ! -s "$project/feeds/interviews.xml" ]; then
    echo "smoke: Python $version: publish exited 0 but stored no MP3 or wrote no feed"
    failed=1
  else
    echo "smoke: Python $version: publish of the sample OK, nothing on stderr"
  fi
done
exit "$failed"
