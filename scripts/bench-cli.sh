#!/usr/bin/env bash
# Times the built CLI: `validate` on the example playbook and `--version`, RUNS times each, and
# prints median, min and max in milliseconds. A benchmark, not a test: it prints figures.
# Targets: validate < 300 ms, --version < 150 ms. Needs dist/ (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-10}"

if [[ ! -f dist/cli/main.js ]]; then
  echo "dist/cli/main.js missing: run npm run build first" >&2
  exit 1
fi

# Prints "median min max" (ms) of running the given command RUNS times, after one warm-up run.
measure() {
  "$@" >/dev/null 2>&1 || true
  local times=()
  for ((i = 0; i < RUNS; i++)); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "%d %d %d\n", m, a[1], a[NR] }'
}

report() {
  local label="$1" target="$2"
  shift 2
  read -r median min max < <(measure "$@")
  local verdict="ok"
  ((median < target)) || verdict="SLOW"
  printf '%-58s median %4d ms  min %4d  max %4d  (target < %d ms: %s)\n' "$label" "$median" "$min" "$max" "$target" "$verdict"
}

# validate checks that the files the example inventory names (~/.ssh/...) exist: give it a home
# that has them, so the figures do not depend on this machine's own ~/.ssh.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
mkdir "$home/.ssh"
touch "$home/.ssh/id_ed25519" "$home/.ssh/deploy_ed25519" "$home/.ssh/known_hosts"

echo "regbook CLI timings over $RUNS runs (node $(node --version))"
report "validate playbooks/site.yaml -i inventory.example.yaml" 300 \
  env HOME="$home" node dist/cli/main.js validate playbooks/site.yaml -i inventory.example.yaml
report "--version" 150 node dist/cli/main.js --version
