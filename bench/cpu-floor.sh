#!/usr/bin/env bash
# How much CPU the remote work of a first apply needs, whichever tool drives it: the OS store
# refresh and the docker restart on every host, and every worker pulling both images. Each piece
# runs on all hosts at once through `docker exec` (no SSH, no tool), and the CPU the hosts used is
# read from their cgroups. The lab's hosts share this machine's cores, so that CPU divided by the
# number of cores is a floor under any tool's first apply on this lab. See bench/PROFILE.md.
#
# Usage (on a bench lab that an apply has converged, e.g. after `KEEP_LAB=1 npm run bench`):
#   REGBOOK_LAB=bench bash bench/cpu-floor.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lab/lib.sh
source "$ROOT/lab/lib.sh"
[[ -n "${REGBOOK_LAB:-}" ]] || die "set REGBOOK_LAB (e.g. bench) so the default lab is left alone"
ROUNDS="${ROUNDS:-3}"

mapfile -t CONTAINERS < <(lab_containers | sort)
[[ ${#CONTAINERS[@]} -gt 1 ]] || die "no lab $REGBOOK_LAB is up"
WORKERS=()
for c in "${CONTAINERS[@]}"; do [[ "$c" == *-worker* ]] && WORKERS+=("$c"); done
ADDRESS=master:5000
IMAGES=("$ADDRESS/app:0.1" "$ADDRESS/app:0.2")
dk exec "$(container_of master)" docker image inspect "${IMAGES[@]}" >/dev/null 2>&1 ||
  die "the master has no ${IMAGES[*]}: converge the lab with an apply first"

# CPU time (ns) a container has used so far: cgroup v1 (cpuacct) or v2 (cpu.stat).
cpu_ns() {
  local id v1 v2
  id=$(dk inspect -f '{{.Id}}' "$1")
  for v1 in /sys/fs/cgroup/cpuacct/docker/"$id"/cpuacct.usage /sys/fs/cgroup/cpu,cpuacct/docker/"$id"/cpuacct.usage; do
    [[ -r "$v1" ]] && {
      cat "$v1"
      return
    }
  done
  for v2 in /sys/fs/cgroup/system.slice/docker-"$id".scope/cpu.stat /sys/fs/cgroup/docker/"$id"/cpu.stat; do
    [[ -r "$v2" ]] && {
      awk '$1 == "usage_usec" { print $2 * 1000 }' "$v2"
      return
    }
  done
  die "cannot read the CPU use of $1 from its cgroup"
}
total_cpu_ns() {
  local c sum=0
  for c in "${CONTAINERS[@]}"; do sum=$((sum + $(cpu_ns "$c"))); done
  echo "$sum"
}

# Runs a script on the given containers at once; prints "wall_ms cpu_ms".
measure() {
  local script="$1" c before after start end
  shift
  before=$(total_cpu_ns)
  start=$(date +%s%N)
  for c in "$@"; do dk exec "$c" sh -c "$script" >/dev/null 2>&1 & done
  wait
  end=$(date +%s%N)
  after=$(total_cpu_ns)
  echo "$(((end - start) / 1000000)) $(((after - before) / 1000000))"
}

# Each piece as a tool does it on a fresh host. The store refresh adds a certificate the store
# lacks (a copy of the lab CA under a new name), and the untimed clean-up removes it again.
CERT=/usr/local/share/ca-certificates/cpu-floor.crt
REFRESH="cp /etc/docker/certs.d/$ADDRESS/ca.crt $CERT && update-ca-certificates"
UNDO="rm -f $CERT && update-ca-certificates"
# Waiting for the daemon the cheapest way: test for its socket, then one client call.
RESTART='service docker restart; until [ -S /var/run/docker.sock ] && docker version >/dev/null 2>&1; do sleep 0.1; done'
PULL="docker pull ${IMAGES[0]} >/dev/null & docker pull ${IMAGES[1]} >/dev/null; wait"
UNPULL="docker rmi ${IMAGES[*]}"

printf 'piece\thosts\twall_ms\tcpu_ms\n'
declare -A SUM
for ((r = 1; r <= ROUNDS; r++)); do
  read -r w c < <(measure "$REFRESH" "${CONTAINERS[@]}")
  printf 'store refresh\t%d\t%d\t%d\n' "${#CONTAINERS[@]}" "$w" "$c"
  SUM[refresh]=$((${SUM[refresh]:-0} + c))
  measure "$UNDO" "${CONTAINERS[@]}" >/dev/null
  read -r w c < <(measure "$RESTART" "${CONTAINERS[@]}")
  printf 'docker restart\t%d\t%d\t%d\n' "${#CONTAINERS[@]}" "$w" "$c"
  SUM[restart]=$((${SUM[restart]:-0} + c))
  sleep 2 # the registry comes back (restart: always)
  measure "$UNPULL" "${WORKERS[@]}" >/dev/null
  read -r w c < <(measure "$PULL" "${WORKERS[@]}")
  printf 'pull 2 images\t%d\t%d\t%d\n' "${#WORKERS[@]}" "$w" "$c"
  SUM[pull]=$((${SUM[pull]:-0} + c))
done
cores=$(nproc)
cpu=$(((${SUM[refresh]} + ${SUM[restart]} + ${SUM[pull]}) / ROUNDS))
printf '\nmean CPU per round: store refresh %d ms, docker restart %d ms, pulls %d ms; total %d ms\n' \
  $((${SUM[refresh]} / ROUNDS)) $((${SUM[restart]} / ROUNDS)) $((${SUM[pull]} / ROUNDS)) "$cpu"
printf 'on %d cores: no first apply on this lab can take less than %d ms of wall time\n' "$cores" $((cpu / cores))
