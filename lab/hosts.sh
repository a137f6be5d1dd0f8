# The lab's hosts: containers that behave like machines (sourced by up.sh).

# name port user become, one host a line: master first, worker2 logs in as a sudoer.
lab_plan() {
  local n="$1" i
  echo "master $LAB_SSH_BASE_PORT root -"
  for i in $(seq 1 "$n"); do
    if [[ $i -eq 2 ]]; then
      echo "worker$i $((LAB_SSH_BASE_PORT + i)) deploy sudo"
    else
      echo "worker$i $((LAB_SSH_BASE_PORT + i)) root -"
    fi
  done
}

ensure_client_key() {
  if [[ ! -f "$LAB_DIR/id_ed25519" ]]; then
    log "making the lab client key .lab/id_ed25519"
    ssh-keygen -q -t ed25519 -N '' -C regbook-lab -f "$LAB_DIR/id_ed25519"
  fi
  chmod 0600 "$LAB_DIR/id_ed25519"
}

ensure_network() {
  dk network inspect "$LAB_NETWORK" >/dev/null 2>&1 && return 0
  log "creating network $LAB_NETWORK"
  dk network create --label "$LAB_LABEL=network" "$LAB_NETWORK" >/dev/null
}

# What a host container is made from; a container whose label differs is recreated.
host_config_hash() {
  local name="$1" port="$2" user="$3"
  (dk image inspect -f '{{.Id}}' "$LAB_HOST_IMAGE"; cat "$LAB_DIR/id_ed25519.pub"; echo "$name $port $user $LAB_INSTANCE_ID v2") |
    sha256sum | cut -c1-16
}

run_host() {
  local name="$1" port="$2" user="$3" hash="$4" c
  c=$(container_of "$name")
  dk volume create --label "$LAB_LABEL=volume" --label "$LAB_LABEL.instance=$LAB_INSTANCE_ID" "$c-docker" >/dev/null
  # Docker inside a container: see "The lab" in the design notes for why each flag is needed.
  dk run -d --name "$c" --hostname "$name" \
    --network "$LAB_NETWORK" --network-alias "$name" \
    --init --cap-add=ALL --cap-drop=SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw -v "$c-docker:/var/lib/docker" \
    -p "127.0.0.1:$port:22" --stop-timeout 30 \
    -e "LAB_LOGIN_USER=$user" -e "LAB_AUTHORIZED_KEY=$(cat "$LAB_DIR/id_ed25519.pub")" \
    --label "$LAB_LABEL=host" --label "$LAB_LABEL.instance=$LAB_INSTANCE_ID" --label "$LAB_LABEL.name=$name" --label "$LAB_LABEL.config=$hash" \
    "$LAB_HOST_IMAGE" >/dev/null
}

# Every lab host runs its own containerd as root, which holds an inotify instance, and all labs on
# the machine share root's fs.inotify.max_user_instances: its default (128) is less than a 1+50 lab
# beside the benchmark's second lab and a few test labs need. Raised as root, never lowered;
# elsewhere the message says what to run.
LAB_INOTIFY_INSTANCES=1024
ensure_kernel_limits() {
  local n="$1" f=/proc/sys/fs/inotify/max_user_instances have
  [[ -r $f ]] || return 0
  have=$(cat "$f")
  ((have >= LAB_INOTIFY_INSTANCES)) && return 0
  if [[ $EUID -eq 0 ]] && echo "$LAB_INOTIFY_INSTANCES" >"$f" 2>/dev/null; then
    log "raised fs.inotify.max_user_instances from $have to $LAB_INOTIFY_INSTANCES (a lab host uses several)"
  elif ((n > 10)); then
    log "warning: fs.inotify.max_user_instances is $have; hosts may fail to start their dockerd (sysctl -w fs.inotify.max_user_instances=$LAB_INOTIFY_INSTANCES)"
  fi
}

# Ports on 127.0.0.1 something listens on, one a line (this lab's own hosts included).
listening_ports() {
  ss -Hltn 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u
}

ensure_hosts() {
  local n="$1" name port user become c hash have running wanted=" " busy
  busy=" $(listening_ports | tr '\n' ' ') "
  LAB_FRESH=" "
  while read -r name port user become; do
    c=$(container_of "$name")
    wanted+="$c "
    hash=$(host_config_hash "$name" "$port" "$user")
    have=$(dk inspect -f "{{index .Config.Labels \"$LAB_LABEL.config\"}}" "$c" 2>/dev/null || true)
    if [[ -n "$have" && "$have" != "$hash" ]]; then
      log "recreating $name (its image or settings changed)"
      dk rm -f "$c" >/dev/null
      busy="${busy/ $port / }" # its own port, free again
      have=""
    fi
    if [[ -z "$have" ]]; then
      # A clear message before docker's "port is already allocated": another lab (or anything)
      # holds a port in this lab's range.
      [[ "$busy" != *" $port "* ]] ||
        die "port 127.0.0.1:$port for $name is taken; pick another REGBOOK_LAB_PORT (this lab needs $LAB_SSH_BASE_PORT..$((LAB_SSH_BASE_PORT + n)))"
      log "starting $name (ssh 127.0.0.1:$port, user $user)"
      run_host "$name" "$port" "$user" "$hash"
      LAB_FRESH+="$name "
      continue
    fi
    running=$(dk inspect -f '{{.State.Running}}' "$c")
    if [[ "$running" != true ]]; then
      log "starting stopped $name"
      dk start "$c" >/dev/null
      LAB_FRESH+="$name "
    fi
  done < <(lab_plan "$n")
  # Workers beyond N are removed, with their docker volume.
  for c in $(lab_containers); do
    if [[ "$wanted" != *" $c "* ]]; then
      log "removing $c (not in a lab of $n workers)"
      dk rm -f "$c" >/dev/null
      dk volume rm -f "$c-docker" >/dev/null 2>&1 || true
    fi
  done
  LAB_HOSTS_PLAN=$(lab_plan "$n")
}

# Waits until every host's sshd and dockerd answer (from inside the container). Hosts boot at the
# same time and share the machine's cores, so the time allowed grows with the number of hosts.
wait_hosts() {
  local name c i ok hosts limit
  hosts=$(wc -l <<<"$LAB_HOSTS_PLAN")
  limit=$((120 + 4 * hosts)) # half-seconds: 60 s, plus 2 s a host
  while read -r name _; do
    c=$(container_of "$name")
    ok=
    for i in $(seq 1 "$limit"); do
      if dk exec "$c" sh -c 'docker info >/dev/null 2>&1 && test -s /run/sshd.pid' 2>/dev/null; then
        ok=1 && break
      fi
      # A running host whose daemons were stopped (by a test, say) is healed rather than waited on.
      # Never one this run started: its entry point is still starting them, and a second
      # `service docker start` beside it races for dockerd's pid file.
      if [[ $i -eq 10 && "$LAB_FRESH" != *" $name "* ]]; then
        dk exec "$c" sh -c 'docker info >/dev/null 2>&1 || service docker start; [ -s /run/sshd.pid ] || service ssh start' >/dev/null 2>&1 || true
      fi
      sleep 0.5
    done
    if [[ -z "$ok" ]]; then
      dk logs --tail 30 "$c" >&2 || true
      die "$name did not come up (sshd and dockerd) within $((limit / 2))s; see 'docker logs $c'"
    fi
  done <<<"$LAB_HOSTS_PLAN"
}

# known_hosts from the hosts' own public keys, read inside each container, not from the network.
write_known_hosts() {
  local name port c tmp="$LAB_DIR/known_hosts.tmp"
  : >"$tmp"
  while read -r name port _; do
    c=$(container_of "$name")
    dk exec "$c" sh -c 'cat /etc/ssh/ssh_host_*_key.pub' |
      awk -v h="[127.0.0.1]:$port" '{ print h, $1, $2 }' >>"$tmp"
  done <<<"$LAB_HOSTS_PLAN"
  mv "$tmp" "$LAB_DIR/known_hosts"
}

# Proves each host answers over SSH with the lab key and known_hosts, as a client would connect.
check_ssh() {
  local name port user pids=() p
  while read -r name port user _; do
    ssh -q -i "$LAB_DIR/id_ed25519" -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=10 \
      -o UserKnownHostsFile="$LAB_DIR/known_hosts" -o StrictHostKeyChecking=yes \
      -p "$port" "$user@127.0.0.1" true &
    pids+=("$!:$name")
  done <<<"$LAB_HOSTS_PLAN"
  for p in "${pids[@]}"; do
    wait "${p%%:*}" || die "ssh to ${p#*:} failed; try: ssh -v -i .lab/id_ed25519 -o UserKnownHostsFile=.lab/known_hosts -p PORT USER@127.0.0.1"
  done
}

# The master's inner docker holds the images an operator would have there.
load_master_images() {
  local c pair ref file want have
  c=$(container_of master)
  for pair in "${LAB_PAYLOAD_IMAGES[@]}"; do
    ref="${pair%%=*}" file="$LAB_DIR/images/${pair#*=}"
    want=$(dk image inspect -f '{{.Id}}' "$ref")
    have=$(dk exec "$c" docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)
    [[ "$have" == "$want" ]] && continue
    log "loading $ref into the master's docker"
    dk exec -i "$c" docker load -q <"$file" >/dev/null
  done
}

json_str() { # a JSON (and YAML) double-quoted string
  local s="${1//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}

write_inventory() {
  local name port user become tmp="$LAB_DIR/inventory.yaml.tmp"
  {
    echo "# The lab's hosts, written by lab/up.sh; SSH ports are published on 127.0.0.1 only."
    echo "defaults:"
    echo "  user: root"
    echo "  identityFile: $(json_str "$LAB_DIR/id_ed25519")"
    echo "  knownHosts: $(json_str "$LAB_DIR/known_hosts")"
    echo "  hostKeyChecking: strict"
    while read -r name port user become; do
      if [[ $name == master ]]; then
        printf 'master:\n  name: master\n  address: 127.0.0.1\n  port: %s\nworkers:\n' "$port"
        continue
      fi
      printf '  - name: %s\n    address: 127.0.0.1\n    port: %s\n' "$name" "$port"
      [[ $user == root ]] || printf '    user: %s\n' "$user"
      [[ $become == - ]] || printf '    become: %s\n' "$become"
    done <<<"$LAB_HOSTS_PLAN"
  } >"$tmp"
  mv "$tmp" "$LAB_DIR/inventory.yaml"
}

write_state() {
  local name port user become sep="" tmp="$LAB_DIR/state.json.tmp"
  {
    printf '{\n  "dir": %s,\n  "network": %s,\n  "inventory": %s,\n  "key": %s,\n  "knownHosts": %s,\n  "hosts": [\n' \
      "$(json_str "$LAB_DIR")" "$(json_str "$LAB_NETWORK")" "$(json_str "$LAB_DIR/inventory.yaml")" \
      "$(json_str "$LAB_DIR/id_ed25519")" "$(json_str "$LAB_DIR/known_hosts")"
    while read -r name port user become; do
      printf '%s    {"name": "%s", "container": "%s", "address": "127.0.0.1", "port": %s, "user": "%s"' \
        "$sep" "$name" "$(container_of "$name")" "$port" "$user"
      [[ $become == - ]] || printf ', "become": "%s"' "$become"
      printf '}'
      sep=$',\n'
    done <<<"$LAB_HOSTS_PLAN"
    printf '\n  ]\n}\n'
  } >"$tmp"
  mv "$tmp" "$LAB_DIR/state.json"
}
