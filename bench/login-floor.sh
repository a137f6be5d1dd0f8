#!/usr/bin/env bash
# The least any SSH tool does on a cluster: log in to every host of one lab at once with OpenSSH's
# client and run `true` there, with no connection shared or kept. bench/run.sh times it beside
# regbook's no-change apply in the scaling pairs, so the report can say how much of regbook's
# growth with the host count is the logins themselves, on this machine, where the hosts' sshd and
# the control node share the same cores.
#
#   REGBOOK_LAB=bench bash bench/login-floor.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lab/lib.sh
source "$ROOT/lab/lib.sh"
[[ -n "${REGBOOK_LAB:-}" ]] || die "set REGBOOK_LAB so the default lab is left alone"
state="$LAB_DIR/state.json"
[[ -r "$state" ]] || die "no lab $REGBOOK_LAB is up ($state missing)"

# "port user" for each host, from the lab's own record of them.
# shellcheck disable=SC2016 # the script is node's, not the shell's
mapfile -t hosts < <(node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const h of s.hosts) console.log(`${h.port} ${h.user}`);
' "$state")
pids=()
for h in "${hosts[@]}"; do
  read -r port user <<<"$h"
  ssh -q -n -i "$LAB_DIR/id_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$LAB_DIR/known_hosts" \
    -o StrictHostKeyChecking=yes -o ControlMaster=no -o ControlPath=none -p "$port" "$user@127.0.0.1" true &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
((failed == 0)) || die "$failed of ${#hosts[@]} logins failed"
echo "logged in to ${#hosts[@]} hosts"
