#!/usr/bin/env bash
# Brings up the benchmark's lab instance with 1..10 workers. lab/up.sh stops at 9 workers (its port
# range 2220-2229); the benchmark needs 10, so this runs the same steps with lab/'s own functions
# and no upper bound. Run it with REGBOOK_LAB/REGBOOK_LAB_PORT set (bench/run.sh does), so the
# default lab is never touched. Usage: bash bench/lab-up.sh N
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lab/lib.sh
source "$ROOT/lab/lib.sh"
# shellcheck source=lab/build.sh
source "$LAB_SRC/build.sh"
# shellcheck source=lab/hosts.sh
source "$LAB_SRC/hosts.sh"

workers="${1:?usage: bash bench/lab-up.sh N}"
[[ "$workers" =~ ^([1-9]|10)$ ]] || die "N must be 1..10, got '$workers'"
[[ -n "${REGBOOK_LAB:-}" ]] || die "set REGBOOK_LAB (and REGBOOK_LAB_PORT) so the default lab is left alone"

mkdir -p "$LAB_DIR/images" "$LAB_DIR/build"
exec 9>"$LAB_DIR/lock"
flock 9
ensure_tools
ensure_dockerd
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
log "bench lab up: master + $workers workers; inventory: $LAB_DIR/inventory.yaml"
