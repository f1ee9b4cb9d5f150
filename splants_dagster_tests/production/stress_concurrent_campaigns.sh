#!/usr/bin/env bash
# Stress run outside CI (issue #14 item 13): the two "two campaigns at once" tests, N times in a row on the
# local PostgreSQL and RabbitMQ. Stops at the first failure (its pytest output, with the run's failure
# reason, stays in the log). Usage: splants_dagster_tests/production/stress_concurrent_campaigns.sh [N] [LOG]
set -uo pipefail
cd "$(dirname "$0")/../.."
N=${1:-20}
LOG=${2:-/tmp/splants-stress-concurrent-campaigns.log}
: >"$LOG"
export SPLANTS_REQUIRE_SERVICES=1
passed=0
for i in $(seq 1 "$N"); do
  if timeout 900 .venv/bin/python -m pytest -q -p no:cacheprovider \
      splants_dagster_tests/production/test_postgres_celery.py >>"$LOG" 2>&1; then
    passed=$((passed + 1))
    echo "$(date -u +%FT%TZ) iteration $i: pair passed ($passed in a row)" | tee -a "$LOG"
  else
    echo "$(date -u +%FT%TZ) iteration $i: FAILED after $passed in a row (see $LOG)" | tee -a "$LOG"
    exit 1
  fi
done
echo "$passed of $N in a row"
