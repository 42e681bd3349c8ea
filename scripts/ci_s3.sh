#!/usr/bin/env bash
# ci_s3.sh - the S3 integration suite against a real Ceph RGW: start a throwaway cluster,
# run tests/integration, always stop it. Called by .ci/run; runs the same by hand.
# The S3 fault cases of the bad-input suite (tests/badinputs, marked integration) run first,
# before the fault tests of tests/integration kill radosgw and stall bucket creation.
#   bash scripts/ci_s3.sh [extra pytest args]
# Env: PYTHON (default .venv/bin/python), SHARED (default ../shared), RGW_PORT (default: free).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
t0=$EPOCHREALTIME
elapsed() { awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'; }

# A free loopback port, so a developer's own RGW (default 7480) does not collide with CI's.
export RGW_PORT=${RGW_PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
# Throwaway credentials for the throwaway cluster; never real ones.
export AWS_ACCESS_KEY_ID=dfl-ci-key AWS_SECRET_ACCESS_KEY=dfl-ci-secret AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 || true

exports=$(bash "$SHARED/s3/start-ceph-rgw.sh")
eval "$exports"
trap 'bash "$SHARED/s3/stop-ceph-rgw.sh" "$CEPH_RGW_DIR"' EXIT
echo "ci_s3: Ceph RGW up at $AWS_ENDPOINT_URL in $(elapsed)s" >&2
# After radosgw is SIGKILLed, its watches linger on the OSD for osd_client_watch_timeout
# (30 s) and bucket-metadata writes stall meanwhile; radosgw instances started after this
# (the fault tests' restarts) get 5 s. Best effort: the tests do not depend on it.
ceph config set osd osd_client_watch_timeout 5 >/dev/null 2>&1 || true

export RGW_CTL="$SHARED/s3/rgw-ctl.sh"
t_tests=$EPOCHREALTIME
status=0
"$PYTHON" -m pytest tests/badinputs tests/integration -m integration -q -p no:cacheprovider "$@" || status=$?
echo "ci_s3: integration tests took $(awk -v a="$EPOCHREALTIME" -v b="$t_tests" 'BEGIN { printf "%.1f", a - b }')s, total $(elapsed)s (exit $status)" >&2
exit $status
