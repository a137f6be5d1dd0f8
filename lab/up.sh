#!/usr/bin/env bash
# Brings the lab up: a master and N workers, each a container with its own sshd and dockerd.
# Idempotent: reuses images already built and hosts already running; only what is missing or
# out of date is (re)made. Usage: bash lab/up.sh [--workers N] [--s3 [--replicas H1,H2]]
# --s3 adds a single-node Ceph (radosgw's S3) and haproxy in front of the registry replicas
# (lab/objects.sh); a later run without --s3 leaves them as they are, lab/down.sh removes them.
set -euo pipefail
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=lab/build.sh
source "$LAB_SRC/build.sh"
# shellcheck source=lab/hosts.sh
source "$LAB_SRC/hosts.sh"
# shellcheck source=lab/objects.sh
source "$LAB_SRC/objects.sh"

workers=3
s3=
replicas=$LAB_LB_REPLICAS_DEFAULT
usage="usage: bash lab/up.sh [--workers N] [--s3 [--replicas H1,H2]]"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workers) workers="${2:-}"; shift 2 ;;
    --workers=*) workers="${1#*=}"; shift ;;
    --s3) s3=1; shift ;;
    --replicas) replicas="${2:-}"; shift 2 ;;
    --replicas=*) replicas="${1#*=}"; shift ;;
    -h | --help)
      echo "$usage   (1 <= N <= $LAB_MAX_WORKERS, default 3; replicas default $LAB_LB_REPLICAS_DEFAULT)"
      exit 0
      ;;
    *) die "unknown argument: $1 ($usage)" ;;
  esac
done
[[ "$workers" =~ ^[1-9][0-9]?$ ]] && ((workers <= LAB_MAX_WORKERS)) ||
  die "--workers must be a number from 1 to $LAB_MAX_WORKERS, got '$workers'"
[[ -n "$s3" || "$replicas" == "$LAB_LB_REPLICAS_DEFAULT" ]] || die "--replicas names the load balancer's replicas; it needs --s3"
[[ "$replicas" =~ ^(master|worker[1-9][0-9]?)(,(master|worker[1-9][0-9]?))*$ ]] ||
  die "--replicas must be lab host names separated by commas (master,worker1), got '$replicas'"

started=$(date +%s%N)
if ! mkdir -p "$LAB_DIR/images" "$LAB_DIR/build" 2>/dev/null || [[ ! -w "$LAB_DIR" || ! -w "$LAB_DIR/images" ]]; then
  die "cannot write $LAB_DIR; run as root (the lab drives Docker and may need apt-get), or as the user who owns $LAB_DIR"
fi
# One lab change at a time: test processes may call this concurrently.
exec 9>"$LAB_DIR/lock"
flock 9

ensure_tools
ensure_dockerd
ensure_kernel_limits "$workers"
build_images
save_archives
ensure_client_key
ensure_network
ensure_hosts "$workers"
wait_hosts
write_known_hosts
check_ssh
load_master_images
write_inventory
write_state
[[ -z "$s3" ]] || ensure_objects "$replicas"

elapsed=$((($(date +%s%N) - started) / 1000000))
log "lab up: master + $workers workers in $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000)))s; inventory: $LAB_DIR/inventory.yaml"
