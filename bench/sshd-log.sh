#!/usr/bin/env bash
# What the lab's sshd servers logged so far, summed over the hosts of one lab: logins, and
# connections that reached sshd but never logged in (closed or reset before authentication, no
# identification string, a timeout before authentication, MaxStartups throttling). Each lab host's
# sshd logs to /var/log/sshd.log at sshd's default level (INFO); the files are read from the
# containers' writable layer on this machine, so counting costs no `docker exec` and no SSH login.
#
#   REGBOOK_LAB=bench bash bench/sshd-log.sh     # prints "LOGINS NOT_LOGGED_IN"
#
# Cumulative since each host started: bench/run.sh takes the difference around each timed run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lab/lib.sh
source "$ROOT/lab/lib.sh"
[[ -n "${REGBOOK_LAB:-}" ]] || die "set REGBOOK_LAB so the default lab is left alone"

NOT_LOGGED_IN='\[preauth\]|kex_exchange_identification|banner exchange|Timeout before authentication|MaxStartups'
logins=0 refused=0
mapfile -t hosts < <(lab_containers)
[[ ${#hosts[@]} -gt 0 ]] || die "no lab $REGBOOK_LAB is up"
# One inspect for all hosts: "name upper-dir" lines.
while read -r c upper; do
  f="$upper/var/log/sshd.log"
  if [[ -n "$upper" && -r "$f" ]]; then
    text=$(cat "$f")
  else
    text=$(dk exec "${c#/}" cat /var/log/sshd.log 2>/dev/null || true)
  fi
  l=$(grep -c 'Accepted publickey' <<<"$text" || true)
  r=$(grep -Ec "$NOT_LOGGED_IN" <<<"$text" || true)
  logins=$((logins + l)) refused=$((refused + r))
done < <(dk inspect -f '{{.Name}} {{.GraphDriver.Data.UpperDir}}' "${hosts[@]}")
echo "$logins $refused"
