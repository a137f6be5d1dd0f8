#!/usr/bin/env bash
# Takes the lab down: its containers, network and volumes. Built images stay, so the next lab:up is
# quick; --images removes them too. Usage: bash lab/down.sh [--images]
set -euo pipefail
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=lab/objects.sh
source "$LAB_SRC/objects.sh"

images=
case "${1:-}" in
  "") ;;
  --images) images=1 ;;
  *) die "usage: bash lab/down.sh [--images]" ;;
esac

if ! dk info >/dev/null 2>&1; then
  log "no Docker engine answers; nothing to take down"
  rm -f "$LAB_DIR/inventory.yaml" "$LAB_DIR/known_hosts" "$LAB_DIR/state.json"
  exit 0
fi
mkdir -p "$LAB_DIR"
exec 9>"$LAB_DIR/lock"
flock 9

containers=$( { lab_containers; lab_services; } | xargs)
if [[ -n "$containers" ]]; then
  log "removing hosts: $(echo $containers)"
  # shellcheck disable=SC2086
  dk rm -f $containers >/dev/null
fi
volumes=$(dk volume ls -q --filter "label=$LAB_LABEL=volume" --filter "label=$LAB_LABEL.instance=$LAB_INSTANCE_ID")
if [[ -n "$volumes" ]]; then
  log "removing volumes"
  # shellcheck disable=SC2086
  dk volume rm -f $volumes >/dev/null
fi
if dk network inspect "$LAB_NETWORK" >/dev/null 2>&1; then
  log "removing network $LAB_NETWORK"
  dk network rm "$LAB_NETWORK" >/dev/null
fi
rm -f "$LAB_DIR/inventory.yaml" "$LAB_DIR/known_hosts" "$LAB_DIR/state.json" "$LAB_DIR/s3.json"

if [[ -n "$images" ]]; then
  # Only images the lab built (they carry its label), never someone else's registry:2.
  refs=()
  for ref in "$LAB_HOST_IMAGE" "$LAB_BASE_IMAGE" "$LAB_OBJECTS_IMAGE" "$LAB_OBJECTS_BASE_IMAGE" registry:2 app:0.1 app:0.2 tool:1.0; do
    [[ -n "$(image_label "$ref" "$LAB_LABEL")" ]] && refs+=("$ref")
  done
  if [[ ${#refs[@]} -gt 0 ]]; then
    log "removing images: ${refs[*]}"
    dk rmi -f "${refs[@]}" >/dev/null
  fi
  rm -rf "$LAB_DIR/images" "$LAB_DIR/build"
fi
log "lab down"
