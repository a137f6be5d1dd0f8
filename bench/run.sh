#!/usr/bin/env bash
# regbook against Ansible on the same lab: first apply on fresh hosts, the no-change apply and
# --check on a converged cluster, for 1 master + N workers at each size. Writes raw figures to
# bench/.work/ and the tables and chart to bench/RESULTS.md and bench/scaling.svg. See bench/README.md.
#
#   npm run bench                               # sizes 3 and 10, RUNS=5 timed runs of each figure
#   npm run bench -- --sizes 3,10,30,50         # 1+3 up to 1+50
#   RUNS=3 SIZES="10" npm run bench             # fewer runs, one size
#
# Its lab instance: BENCH_LAB / BENCH_LAB_PORT, else REGBOOK_LAB / REGBOOK_LAB_PORT, else bench and
# SSH ports from 2320; never the default lab. It is taken down at the end (KEEP_LAB=1 leaves it up).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

usage() { echo "usage: bash bench/run.sh [--sizes N,N,...]   (or SIZES=\"N N\"; 1 <= N <= 50)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) SIZES="${2:-}" && shift 2 ;;
    --sizes=*) SIZES="${1#*=}" && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && exit 2 ;;
  esac
done
SIZES="${SIZES:-3 10}"
SIZES="${SIZES//,/ }"
for size in $SIZES; do
  [[ "$size" =~ ^[1-9][0-9]?$ ]] && ((size <= 50)) || {
    usage >&2
    exit 2
  }
done
SIZES=$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -nu | tr '\n' ' ')
SMALLEST=$(awk '{ print $1 }' <<<"$SIZES")
LARGEST=$(awk '{ print $NF }' <<<"$SIZES")

LAB_NAME="${BENCH_LAB:-${REGBOOK_LAB:-bench}}"
LAB_PORT="${BENCH_LAB_PORT:-${REGBOOK_LAB_PORT:-2320}}"
export REGBOOK_LAB="$LAB_NAME" REGBOOK_LAB_PORT="$LAB_PORT"
RUNS="${RUNS:-5}"
FIRST_RUNS="${FIRST_RUNS:-$RUNS}"
PAIRS="${PAIRS:-10}"
# Hosts worked on at once, for both tools: above the largest host count, so neither tool runs a
# task in two waves. regbook's default is 25; Ansible's forks (16) are in bench/ansible/ansible.cfg,
# and ANSIBLE_FORKS overrides them.
FORKS="${FORKS:-$((LARGEST + 1 > 25 ? LARGEST + 1 : 25))}"
export ANSIBLE_FORKS="${ANSIBLE_FORKS:-$((LARGEST + 1 > 16 ? LARGEST + 1 : 16))}"
LAB_DIR="$ROOT/.lab-$REGBOOK_LAB"
WORK="$ROOT/bench/.work"
DATA="$WORK/results.tsv"
export ANSIBLE_CONFIG="$ROOT/bench/ansible/ansible.cfg"

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
  printf '[bench] error: %s\n' "$*" >&2
  exit 1
}

command -v ansible-playbook >/dev/null || die "ansible-playbook missing: apt-get install ansible (Debian's package ships community.crypto and community.docker)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing: apt-get install time"
if [[ ! -f dist/cli/main.js ]]; then
  log "building dist/"
  npm run build >/dev/null
fi

mkdir -p "$WORK/logs"
: >"$DATA"
DOWNTIME="$WORK/downtime.tsv"
: >"$DOWNTIME"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# The CPU counters at the start and the end: the report says how much time the hypervisor took.
head -1 /proc/stat >"$WORK/cpu-start"

# The lab a timed run works on (bench/sshd-log.sh reads its hosts' sshd logs around each run).
RUN_LAB="$REGBOOK_LAB"

# Runs a command under /usr/bin/time; appends "size phase tool run wall_ms rss_kb cpu_ms logins
# not_logged_in unreachable" to the data file: peak RSS and user+sys CPU of the command and the
# children it waited for; on a lab, the SSH logins its sshd servers logged during the run, the
# connections that reached them and never logged in, and the hosts the tool's recap calls
# unreachable. The command's output goes to a log; a non-zero exit stops the benchmark.
timed() {
  local size="$1" phase="$2" tool="$3" run="$4"
  shift 4
  local logf="$WORK/logs/$size-$phase-$tool-$run.log" start end rss user sys before=(0 0) after=(0 0) unreach=0
  if ((size > 0)); then read -r -a before < <(REGBOOK_LAB="$RUN_LAB" bash bench/sshd-log.sh) || before=(0 0); fi
  start=$(date +%s%N)
  if ! /usr/bin/time -f '%M %U %S' -o "$logf.time" "$@" >"$logf" 2>&1; then
    tail -30 "$logf" >&2
    die "$tool $phase (1+$size, run $run) failed; log: $logf"
  fi
  end=$(date +%s%N)
  if ((size > 0)); then read -r -a after < <(REGBOOK_LAB="$RUN_LAB" bash bench/sshd-log.sh) || after=(0 0); fi
  read -r rss user sys < <(tail -1 "$logf.time")
  unreach=$({ grep -Eo 'unreachable=[0-9]+' "$logf" || true; } | awk -F= '{ s += $2 } END { print s + 0 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$phase" "$tool" "$run" $(((end - start) / 1000000)) "$rss" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }')" \
    $((after[0] - before[0])) $((after[1] - before[1])) "$unreach" >>"$DATA"
  LAST_LOG="$logf"
}

# The two tools as commands /usr/bin/time can run (it cannot run shell functions). regbook's
# wrapper execs node, so the peak RSS is node's own.
# Two jobs (bench/playbooks/): parity.yaml does what the runbook and the Ansible side do (the CA in
# the OS store, docker restarted where it changed); defaults.yaml leaves trust at regbook's defaults.
regbook_wrapper() { # FILE INVENTORY PLAYBOOK
  cat >"$1" <<SH
#!/usr/bin/env bash
exec node "$ROOT/dist/cli/main.js" apply "$3" -i "$2" --forks "$FORKS" "\$@"
SH
  chmod +x "$1"
}
regbook_wrapper "$WORK/regbook" "$LAB_DIR/inventory.yaml" "$ROOT/bench/playbooks/parity.yaml"
regbook_wrapper "$WORK/regbook-default" "$LAB_DIR/inventory.yaml" "$ROOT/bench/playbooks/defaults.yaml"
# Each Ansible run gets fresh SSH control sockets: no run reuses connections the previous one left
# open (ControlPersist=60s), so both tools start every run cold. The masters it leaves are closed.
cat >"$WORK/ansible" <<SH
#!/usr/bin/env bash
cp=\$(mktemp -d "$WORK/cp.XXXXXX")
ANSIBLE_SSH_CONTROL_PATH_DIR="\$cp" ansible-playbook -i "$LAB_DIR/ansible-hosts.ini" "$ROOT/bench/ansible/site.yml" "\$@"
rc=\$?
for s in "\$cp"/*; do [[ -S "\$s" ]] && ssh -o ControlPath="\$s" -O exit x >/dev/null 2>&1; done
rm -rf "\$cp"
exit \$rc
SH
chmod +x "$WORK/ansible"

# No-change runs must really change nothing: regbook's recap and Ansible's PLAY RECAP say changed=0.
assert_unchanged() {
  if grep -Eq 'changed=[1-9]' "$LAST_LOG"; then
    grep -E 'changed=[1-9]' "$LAST_LOG" >&2
    die "expected changed=0 everywhere; log: $LAST_LOG"
  fi
}

reset_lab() { bash bench/reset.sh; }

for size in $SIZES; do
  log "lab: master + $size workers"
  bash lab/up.sh --workers "$size" 2>"$WORK/logs/lab-up-$size.log" || {
    cat "$WORK/logs/lab-up-$size.log" >&2
    die "bench lab did not come up"
  }
  bash bench/ansible/inventory.sh "$LAB_DIR" >"$LAB_DIR/ansible-hosts.ini"
  bash bench/workload.sh load

  # (a) first apply on fresh hosts, with a workload running on every host (bench/workload.sh): the
  # seed-parity job for both tools, and regbook's job with its default trust settings. The order
  # rotates from round to round, to spread the noise.
  jobs=(regbook ansible regbook-default)
  for ((i = 1; i <= FIRST_RUNS; i++)); do
    for ((j = 0; j < ${#jobs[@]}; j++)); do
      job=${jobs[$(((i + j) % ${#jobs[@]}))]}
      if [[ $job == regbook-default ]]; then tool=regbook phase=first-default; else tool=$job phase=first; fi
      log "1+$size first apply, $job, run $i/$FIRST_RUNS"
      reset_lab
      bash bench/workload.sh start
      t0=$(date +%s%N)
      timed "$size" "$phase" "$tool" "$i" "$WORK/$job"
      t1=$(date +%s%N)
      bash bench/workload.sh measure "$t0" "$t1" | sed "s/^/$size\t$phase\t$tool\t$i\t/; s/ /\t/g" >>"$DOWNTIME"
    done
  done

  # (b) no-change apply and (c) --check, each tool on a cluster it converged itself.
  for tool in regbook ansible; do
    reset_lab
    log "1+$size converging with $tool"
    timed "$size" converge "$tool" 0 "$WORK/$tool"
    timed "$size" settle "$tool" 0 "$WORK/$tool" # one untimed no-change run: caches warm for both tools
    assert_unchanged
    for ((i = 1; i <= RUNS; i++)); do
      log "1+$size no-change and --check, $tool, run $i/$RUNS"
      # The two alternate which goes first, so neither always runs right after the other.
      if ((i % 2)); then order="nochange check"; else order="check nochange"; fi
      for figure in $order; do
        if [[ $figure == nochange ]]; then
          timed "$size" nochange "$tool" "$i" "$WORK/$tool"
          assert_unchanged
        else
          timed "$size" check "$tool" "$i" "$WORK/$tool" --check
        fi
      done
    done
  done
done

# (d) The scaling figure: regbook's no-change apply on a smaller lab (1+10 when 10 is among the
# sizes, the scaling target's base, else the smallest; PAIR_BASE picks another) and the largest,
# in alternating pairs with both labs up at once. The sections above measure the two sizes many
# minutes apart, and the hypervisor's steal comes in bursts of seconds; a ratio of medians taken
# that far apart measures the machine as much as regbook. Pairs see the same machine. After each
# run, bench/login-floor.sh logs in to the same hosts with OpenSSH and runs `true`: how the logins
# alone grow on this machine, where the hosts share its cores.
if [[ " $SIZES" == *" 10 "* ]]; then small=10; else small=$SMALLEST; fi
small="${PAIR_BASE:-$small}"
big=$LARGEST
if ((small < big)); then
  # The second lab's name and ports follow the first's: its SSH ports start right after them.
  SMALL_LAB="${BENCH_SMALL_LAB:-${LAB_NAME:0:7}small}" SMALL_PORT="${BENCH_SMALL_LAB_PORT:-$((LAB_PORT + big + 1))}"
  log "scaling pairs: a second lab (master + $small workers) beside the 1+$big one"
  REGBOOK_LAB="$SMALL_LAB" REGBOOK_LAB_PORT="$SMALL_PORT" bash lab/up.sh --workers "$small" \
    2>"$WORK/logs/lab-up-pairs.log" || {
    cat "$WORK/logs/lab-up-pairs.log" >&2
    die "the second bench lab did not come up"
  }
  regbook_wrapper "$WORK/regbook-small" "$ROOT/.lab-$SMALL_LAB/inventory.yaml" "$ROOT/bench/playbooks/parity.yaml"
  # The large lab was last converged by Ansible: regbook converges it again from a reset.
  reset_lab
  timed "$big" pair-converge regbook 0 "$WORK/regbook"
  RUN_LAB="$SMALL_LAB" timed "$small" pair-converge regbook 0 "$WORK/regbook-small"
  timed "$big" pair-settle regbook 0 "$WORK/regbook"
  assert_unchanged
  RUN_LAB="$SMALL_LAB" timed "$small" pair-settle regbook 0 "$WORK/regbook-small"
  assert_unchanged
  for ((i = 1; i <= PAIRS; i++)); do
    log "scaling pair $i/$PAIRS"
    for size in $( ((i % 2)) && echo "$small $big" || echo "$big $small"); do
      if ((size == small)); then
        RUN_LAB="$SMALL_LAB" timed "$size" pair-nochange regbook "$i" "$WORK/regbook-small"
        assert_unchanged
        RUN_LAB="$SMALL_LAB" REGBOOK_LAB="$SMALL_LAB" REGBOOK_LAB_PORT="$SMALL_PORT" \
          timed "$size" pair-login ssh "$i" bash bench/login-floor.sh
      else
        timed "$size" pair-nochange regbook "$i" "$WORK/regbook"
        assert_unchanged
        timed "$size" pair-login ssh "$i" bash bench/login-floor.sh
      fi
    done
  done
  REGBOOK_LAB="$SMALL_LAB" REGBOOK_LAB_PORT="$SMALL_PORT" bash lab/down.sh >/dev/null 2>&1
fi

# What the remote work of a first apply costs on its own, on the last (largest) lab, which the
# last converge left with the images the pulls need.
log "the first apply's CPU floor (bench/cpu-floor.sh)"
ROUNDS="${FLOOR_ROUNDS:-3}" bash bench/cpu-floor.sh >"$WORK/cpu-floor.txt" 2>"$WORK/logs/cpu-floor.log" || {
  tail -20 "$WORK/logs/cpu-floor.log" >&2
  die "bench/cpu-floor.sh failed"
}

log "regbook --version"
for ((i = 1; i <= 10; i++)); do timed 0 version regbook "$i" node dist/cli/main.js --version; done
# Node's own start, for scale. NODE_EXTRA_CA_CERTS makes every node start parse that file (the
# whole system bundle costs ~80 ms here), so --version is also timed without it when it is set.
for ((i = 1; i <= 10; i++)); do timed 0 node node "$i" node -e 0; done
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" ]]; then
  for ((i = 1; i <= 10; i++)); do timed 0 version-clean regbook "$i" env -u NODE_EXTRA_CA_CERTS node dist/cli/main.js --version; done
fi
head -1 /proc/stat >"$WORK/cpu-end"

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
DOWNTIME_FILE="$DOWNTIME" CHART_FILE=bench/scaling.svg ANSIBLE_FORKS="$ANSIBLE_FORKS" \
  node bench/report.mjs "$DATA" "$load_start" "$load_end" "$FORKS" "$WORK/cpu-floor.txt" "$WORK/cpu-start" "$WORK/cpu-end" >bench/RESULTS.md
# The repository's lint runs prettier --check on every file.
npx prettier --write bench/RESULTS.md >/dev/null
cat bench/RESULTS.md

if [[ -z "${KEEP_LAB:-}" ]]; then
  log "taking the bench lab down"
  bash lab/down.sh >/dev/null 2>&1
fi
