#!/bin/bash
# One slow worker among two (docs/performance.md, "A slow worker"): `npm run bench` runs one edge
# and two workers at RATE calls/s for two 40 s steps, and the first worker is held to QUOTA_US of
# CPU time per 100 ms (a cgroup v1 CPU quota, as a busy node or a container's CPU limit would), so
# that it saturates while the other has room. Root only; the cgroup is removed at the end.
#
# usage: bash bench/slow-worker.sh [RATE (400)] [QUOTA_US (15000: 0.15 of a core)]
set -euo pipefail
RATE=${1:-400}
QUOTA=${2:-15000}
CPU=/sys/fs/cgroup/cpu
[ -w "$CPU" ] || { echo "needs root and the cgroup v1 cpu controller at $CPU" >&2; exit 2; }
GROUP=$CPU/sipedge-slow-worker
mkdir -p "$GROUP"
trap 'rmdir "$GROUP" 2>/dev/null || true' EXIT
echo 100000 > "$GROUP/cpu.cfs_period_us"
echo "$QUOTA" > "$GROUP/cpu.cfs_quota_us"
cd "$(dirname "$0")/.."
npm run bench -- --systems distributed-2w --rates "$RATE,$RATE" --seconds 40 --no-write --takeover-calls 0 --keep-going &
BENCH=$!
# The workers start after the build and the edge: wait (at most 120 s) until both run.
for _ in $(seq 240); do
  WORKERS=$(pgrep -f 'services/sipedge/dist/main.js worker' | sort -n || true)
  [ "$(grep -c . <<< "$WORKERS")" -ge 2 ] && break
  sleep 0.5
done
FIRST=$(head -1 <<< "$WORKERS")
[ -n "$FIRST" ] || { echo 'the workers did not start' >&2; kill "$BENCH"; exit 1; }
echo "slow-worker: worker $FIRST held to $QUOTA µs of CPU per 100 ms"
echo "$FIRST" > "$GROUP/cgroup.procs"
wait "$BENCH"
# The worker has exited with the run: the group is empty and can go.
sleep 1
