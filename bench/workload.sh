#!/usr/bin/env bash
# A workload on every host of the bench lab, as on a live cluster, and how long it was not running
# while an apply ran. Two containers of tool:1.0 (a small HTTP server) per host: `wl-plain` with no
# restart policy (a docker restart ends it for good) and `wl-always` with `--restart always` (a docker
# restart stops it until the daemon is back).
#
#   REGBOOK_LAB=bench bash bench/workload.sh load      # put tool:1.0 on the workers (once per lab)
#   REGBOOK_LAB=bench bash bench/workload.sh start     # (re)start both containers on every host
#   REGBOOK_LAB=bench bash bench/workload.sh measure START_NS END_NS
#
# `measure` prints one line per host: "host plain_down_ms always_down_ms", the milliseconds of the
# window [START_NS, END_NS] (date +%s%N) during which each container was not running, read from
# docker's own State.StartedAt / State.FinishedAt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lab/lib.sh
source "$ROOT/lab/lib.sh"
[[ -n "${REGBOOK_LAB:-}" ]] || die "set REGBOOK_LAB so the default lab is left alone"

IMAGE=tool:1.0

case "${1:-}" in
load)
  for c in $(lab_containers); do
    [[ "$c" == "$(container_of master)" ]] && continue
    dk exec -i "$c" docker load <"$LAB_DIR/images/tool-1.0.tar" >/dev/null
  done
  ;;
start)
  pids=()
  for c in $(lab_containers); do
    dk exec "$c" sh -c "docker rm -f wl-plain wl-always >/dev/null 2>&1
      docker run -d --name wl-plain $IMAGE >/dev/null &&
      docker run -d --name wl-always --restart always $IMAGE >/dev/null" &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || die "could not start the workload"; done
  ;;
measure)
  start_ns="$2" end_ns="$3"
  for c in $(lab_containers); do
    # Running StartedAt FinishedAt, per container; FinishedAt is year 1 for a container never stopped.
    dk exec "$c" docker inspect -f '{{.State.Running}} {{.State.StartedAt}} {{.State.FinishedAt}}' \
      wl-plain wl-always | {
      downs=()
      while read -r running started finished; do
        fin_ns=0
        [[ "$finished" == 0001-* ]] || fin_ns=$(date -d "$finished" +%s%N)
        sta_ns=$(date -d "$started" +%s%N)
        down=0
        if ((fin_ns > start_ns)); then
          # Stopped during the apply: down until it started again, or until the apply ended.
          if [[ "$running" == true ]] && ((sta_ns >= fin_ns)); then up_ns=$sta_ns; else up_ns=$end_ns; fi
          ((up_ns > end_ns)) && up_ns=$end_ns
          down=$(((up_ns - fin_ns) / 1000000))
        elif [[ "$running" != true ]]; then
          down=$(((end_ns - start_ns) / 1000000))
        fi
        downs+=("$down")
      done
      printf '%s %s %s\n' "${c#"$LAB_PREFIX"-}" "${downs[0]}" "${downs[1]}"
    }
  done
  ;;
*) die "usage: bench/workload.sh load | start | measure START_NS END_NS" ;;
esac
