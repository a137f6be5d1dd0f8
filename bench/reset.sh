#!/usr/bin/env bash
# Returns every host of the bench lab to the state before a first apply, for both tools: no
# /etc/regbook or /etc/ansible-registry, no certs.d entries, their CA out of the system store
# (update-ca-certificates --fresh), no registry container or data, no pushed/pulled master:5000/*
# images; the master keeps the images an operator has. Works through `docker exec`, independent of
# either tool. Same steps as reset() in test/helpers/lab.ts, plus the Ansible side's paths.
# Usage: REGBOOK_LAB=bench bash bench/reset.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lab/lib.sh
source "$ROOT/lab/lib.sh"
[[ -n "${REGBOOK_LAB:-}" ]] || die "set REGBOOK_LAB so the default lab is left alone"

KEEP_MASTER="registry:2 app:0.1 app:0.2 tool:1.0"
# The workers keep the workload's image (bench/workload.sh load puts it there).
KEEP_WORKER="tool:1.0"
# shellcheck disable=SC2016 # expanded on the host
SCRIPT='
set -u
docker info >/dev/null 2>&1 || service docker start >/dev/null
for i in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
ids=$(docker ps -aq); [ -z "$ids" ] || docker rm -f $ids >/dev/null
rm -rf /etc/regbook /var/lib/regbook /etc/ansible-registry /var/lib/ansible-registry
[ ! -d /etc/docker/certs.d ] || find /etc/docker/certs.d -mindepth 1 -delete
if compgen -G "/usr/local/share/ca-certificates/regbook*" >/dev/null || compgen -G "/usr/local/share/ca-certificates/ansible-registry*" >/dev/null; then
  rm -rf /usr/local/share/ca-certificates/regbook* /usr/local/share/ca-certificates/ansible-registry*
  update-ca-certificates --fresh >/dev/null 2>&1
fi
for ref in $(docker images --format "{{.Repository}}:{{.Tag}}" | grep -v "<none>"); do
  case " $KEEP " in *" $ref "*) ;; *) docker rmi "$ref" >/dev/null ;; esac
done
ids=$(docker images -q --filter dangling=true); [ -z "$ids" ] || docker rmi -f $ids >/dev/null 2>&1 || true
for ref in $KEEP; do docker image inspect "$ref" >/dev/null 2>&1 || echo "missing $ref"; done
docker info >/dev/null
'

pids=()
for c in $(lab_containers); do
  keep="$KEEP_WORKER"
  [[ "$c" == "$(container_of master)" ]] && keep="$KEEP_MASTER"
  dk exec -e "KEEP=$keep" "$c" bash -c "$SCRIPT" >"$LAB_DIR/reset-$c.log" 2>&1 &
  pids+=("$!:$c")
done
for p in "${pids[@]}"; do
  wait "${p%%:*}" || die "reset of ${p#*:} failed: $(cat "$LAB_DIR/reset-${p#*:}.log")"
  if grep -q '^missing ' "$LAB_DIR/reset-${p#*:}.log"; then
    die "reset of ${p#*:}: $(cat "$LAB_DIR/reset-${p#*:}.log"); run lab/up.sh again to reload them"
  fi
  rm -f "$LAB_DIR/reset-${p#*:}.log"
done
