#!/usr/bin/env bash
# `make test` after the release build: prepares the real-model inputs (scripts/prepare-real-model.sh; a failure there
# fails the run), runs the Swift test suite with their paths in the environment, then the command-line checks, and
# ends with the list of everything that was skipped. KILN_SKIP_REAL_MODEL=1 skips the preparation and every
# real-model suite (each one named in that list); nothing else is ever skipped silently.
# The Orbax read benchmark (BenchmarkTests) and the float-path memory measurement (FloatPathMeasureTests) are not
# tests: scripts/bench-orbax-read.sh (`make bench`) and scripts/measure-float-path.sh run them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${KILN_SKIP_REAL_MODEL:-}" = 1 ]; then
  echo "KILN_SKIP_REAL_MODEL=1: the real model is not prepared and its suites are skipped" >&2
else
  env=$(bash scripts/prepare-real-model.sh)
  eval "$env"
  echo "$env" >&2
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"${SWIFT:-swift}" test -c release -Xswiftc -enable-testing --scratch-path .build-test --skip "BenchmarkTests|FloatPathMeasureTests" 2>&1 \
  | tee "$log" || status=1
bash scripts/cli-checks.sh 2>&1 | tee -a "$log" || status=1

# Every skip message names what it skips (RealModel.required(_:) and cli-checks.sh both do).
skipped=$(sed -n -e 's/^.*skipped: "\(.*\)"$/\1/p' -e 's/^cli-checks: \(.* skipped .*\)$/\1/p' "$log" | sort -u)
echo
if [ -z "$skipped" ]; then
  echo "skipped: nothing"
else
  echo "skipped ($(echo "$skipped" | wc -l)):"
  echo "$skipped" | sed 's/^/  /'
fi
exit $status
