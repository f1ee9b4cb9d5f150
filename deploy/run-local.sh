#!/usr/bin/env bash
# `make run`: the Dagster code server, webserver and daemon, started directly, plus the desk.
#
# Not `dg dev`: its supervisor and the proxy in front of the code server cost ~250 MB at rest (issue #17:
# at most 700 MB for all of `make run`; `make bench BENCH_ARGS=startup` measures this script). Ctrl-C, or
# any of the four exiting, stops all of them.
#
# Settings (environment, defaults in brackets): HOST [127.0.0.1], PORT [3000] for the Dagster UI; DESK_HOST
# [127.0.0.1], DESK_PORT [3001] for the desk; GRPC_PORT [4266] for the code server (loopback only); BIN
# [.venv/bin]; RELOAD [0]: 1 puts the reload proxy in front of the code server (below). DAGSTER_HOME and
# SPLANTS_DATA_DIR as the Makefile sets them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-3000}
DESK_HOST=${DESK_HOST:-127.0.0.1}
DESK_PORT=${DESK_PORT:-3001}
export SPLANTS_GRPC_PORT=${GRPC_PORT:-4266}  # read by deploy/workspace.run.yaml
export PATH="$BIN:$PATH"  # run workers are started as `dagster` from PATH
if [ "${RELOAD:-0}" = 1 ]; then
    # for code edits: a proxy (~100 MB more) that loads the code in a child process and replaces that
    # process when the UI's "Reload" is clicked
    code_server=(code-server start)
else
    # one process: the UI's "Reload" keeps the code it loaded at start (restart `make run`, or RELOAD=1)
    code_server=(api grpc)
fi

# registers the campaigns and creates the instance's storage before three processes open it at once
"$BIN/splants" campaign sync
echo "Dagster UI: http://$HOST:$PORT  (DAGSTER_HOME=$DAGSTER_HOME, data in $SPLANTS_DATA_DIR)"
echo "Desk:       http://$DESK_HOST:$DESK_PORT  (the marketer's desk: splants desk, docs/desk.md)"

# job control: each process gets its own process group, and SIGINT/SIGTERM keep their normal meaning in it
# (without it, bash starts background commands with SIGINT ignored, and Dagster maps SIGTERM to SIGINT's
# handler, so neither would stop them). Ctrl-C reaches this script, which stops each group.
set -m
pids=()
stop() {
    trap - EXIT INT TERM
    local pid left
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 60); do  # a clean stop takes a few seconds; after 30 s, SIGKILL
        left=0
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && left=1; done
        [ "$left" = 0 ] && return
        sleep 0.5
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$BIN/dagster" "${code_server[@]}" -h 127.0.0.1 -p "$SPLANTS_GRPC_PORT" -m splants_dagster.definitions \
    -d "$PWD" --location-name splants_dagster &
pids+=($!)
"$BIN/dagster-webserver" -h "$HOST" -p "$PORT" -w deploy/workspace.run.yaml &
pids+=($!)
"$BIN/dagster-daemon" run -w deploy/workspace.run.yaml &
pids+=($!)
"$BIN/splants" desk --host "$DESK_HOST" --port "$DESK_PORT" --dagster-url "http://$HOST:$PORT" &
pids+=($!)
wait -n  # the first one to exit ends the others (EXIT trap)
