# Shared settings and helpers for the lab scripts (sourced, not run).
# The lab is a set of containers that behave like real hosts: each runs its own OpenSSH server and its
# own Docker engine. See lab/README.md.

LAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_SRC="$LAB_ROOT/lab"
LAB_LABEL=io.regbook.lab
# Several labs can run side by side (e.g. the tests in one, a benchmark in another):
# REGBOOK_LAB=NAME picks the instance, REGBOOK_LAB_PORT its first SSH port. Images are shared.
LAB_INSTANCE="${REGBOOK_LAB:-}"
if [[ -z "$LAB_INSTANCE" ]]; then
  LAB_DIR="$LAB_ROOT/.lab"
  LAB_PREFIX=regbook-lab
  LAB_INSTANCE_ID=default
else
  if [[ ! "$LAB_INSTANCE" =~ ^[a-z0-9]{1,12}$ ]]; then
    printf '[lab] error: REGBOOK_LAB must be 1-12 lowercase letters or digits\n' >&2
    exit 1
  fi
  LAB_DIR="$LAB_ROOT/.lab-$LAB_INSTANCE"
  LAB_PREFIX="regbook-$LAB_INSTANCE"
  LAB_INSTANCE_ID="$LAB_INSTANCE"
fi
LAB_NETWORK="$LAB_PREFIX"
LAB_HOST_IMAGE=regbook-lab/host:bookworm
LAB_BASE_IMAGE=regbook-lab/base:bookworm
LAB_SSH_BASE_PORT="${REGBOOK_LAB_PORT:-2220}"
# The largest lab: a master and this many workers, on SSH ports LAB_SSH_BASE_PORT..+N.
LAB_MAX_WORKERS=50
# Images the master's inner docker holds, as an operator's would; "name:tag=archive file" pairs.
LAB_PAYLOAD_IMAGES=("registry:2=registry-2.tar" "app:0.1=app-0.1.tar" "app:0.2=app-0.2.tar" "tool:1.0=tool-1.0.tar")

# Prefer Debian's client (same version as Debian's dockerd); a newer client elsewhere on PATH may
# speak an API this daemon lacks.
if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
export DOCKER_BUILDKIT=0

log() { printf '[lab] %s\n' "$*" >&2; }
die() {
  printf '[lab] error: %s\n' "$*" >&2
  exit 1
}
dk() { "$DOCKER" "$@"; }

container_of() { # host name -> container name
  printf '%s-%s' "$LAB_PREFIX" "$1"
}

# Lab containers, running or not, by label.
lab_containers() {
  dk ps -a --filter "label=$LAB_LABEL=host" --filter "label=$LAB_LABEL.instance=$LAB_INSTANCE_ID" \
    --format '{{.Names}}' 2>/dev/null || true
}

hash_files() { # a content hash of files and directories, for rebuild decisions
  (cd "$LAB_ROOT" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

image_label() { # image label -> value, empty when the image or label is missing
  dk image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}
