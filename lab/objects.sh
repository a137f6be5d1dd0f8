# The object store and the load balancer of `lab/up.sh --s3` (sourced by up.sh and down.sh): a
# single-node Ceph with radosgw (S3) and haproxy in front of the registry replicas, each in its own
# container on the lab network. Real software from Debian's packages, no fake S3 server.

# Packages of the services image: Ceph's daemons and radosgw, haproxy, and what the start scripts use.
LAB_OBJECTS_PACKAGES=ceph-mon,ceph-mgr,ceph-osd,ceph-common,radosgw,haproxy,ca-certificates,curl,procps,iproute2,uuid-runtime
LAB_OBJECTS_BASE_IMAGE=regbook-lab/objects-base:bookworm
LAB_OBJECTS_IMAGE=regbook-lab/objects:bookworm
# The S3 user and bucket radosgw holds for the registry. The keys are made at first start, inside the
# Ceph container, and read from there by whoever needs them (lab_s3_keys); never baked into an image.
LAB_S3_BUCKET=registry
LAB_S3_USER=registry
LAB_S3_PORT=7480
# Names on the lab network: the Ceph host, and the load balancer clients use as registry.address.
LAB_CEPH_NAME=ceph
LAB_LB_NAME=lb
LAB_LB_PORT=5000
# The registry replicas haproxy sends connections to, by default.
LAB_LB_REPLICAS_DEFAULT=master,worker1

build_objects_base_image() {
  build_rootfs_image "$LAB_OBJECTS_BASE_IMAGE" "$LAB_OBJECTS_PACKAGES" "the Ceph and haproxy file system"
}

build_objects_image() {
  build_objects_base_image
  local want have
  want=$( (dk image inspect -f '{{.Id}}' "$LAB_OBJECTS_BASE_IMAGE"; hash_files lab/objects) | sha256sum | cut -c1-16)
  have=$(image_label "$LAB_OBJECTS_IMAGE" "$LAB_LABEL.hash")
  [[ "$have" == "$want" ]] && return 0
  log "building the services image $LAB_OBJECTS_IMAGE"
  dk build -q --build-arg "BASE=$LAB_OBJECTS_BASE_IMAGE" --label "$LAB_LABEL=image" --label "$LAB_LABEL.hash=$want" \
    -t "$LAB_OBJECTS_IMAGE" "$LAB_SRC/objects" >/dev/null
}

# Service containers carry their own label value, so the host logic (which removes hosts beyond N)
# leaves them alone; lab/down.sh removes them with the rest of the instance.
lab_services() {
  dk ps -a --filter "label=$LAB_LABEL=service" --filter "label=$LAB_LABEL.instance=$LAB_INSTANCE_ID" \
    --format '{{.Names}}' 2>/dev/null || true
}

# Starts (or keeps) one service container; recreated when its image or settings changed.
run_service() {
  local name="$1" settings="$2" c hash have
  shift 2
  c=$(container_of "$name")
  hash=$( (dk image inspect -f '{{.Id}}' "$LAB_OBJECTS_IMAGE"; echo "$name $settings $LAB_INSTANCE_ID v1") | sha256sum | cut -c1-16)
  have=$(dk inspect -f "{{index .Config.Labels \"$LAB_LABEL.config\"}}" "$c" 2>/dev/null || true)
  if [[ -n "$have" && "$have" != "$hash" ]]; then
    log "recreating $name (its image or settings changed)"
    dk rm -f "$c" >/dev/null
    have=""
  fi
  if [[ -z "$have" ]]; then
    log "starting $name"
    dk run -d --name "$c" --hostname "$name" --network "$LAB_NETWORK" --network-alias "$name" --init \
      --stop-timeout 30 --label "$LAB_LABEL=service" --label "$LAB_LABEL.instance=$LAB_INSTANCE_ID" \
      --label "$LAB_LABEL.name=$name" --label "$LAB_LABEL.config=$hash" "$@" >/dev/null
    return 0
  fi
  [[ "$(dk inspect -f '{{.State.Running}}' "$c")" == true ]] || {
    log "starting stopped $name"
    dk start "$c" >/dev/null
  }
}

ensure_objects() {
  local replicas="$1" c vol i started
  started=$(date +%s)
  build_objects_image
  c=$(container_of "$LAB_CEPH_NAME")
  vol="$c-data"
  dk volume create --label "$LAB_LABEL=volume" --label "$LAB_LABEL.instance=$LAB_INSTANCE_ID" "$vol" >/dev/null
  run_service "$LAB_CEPH_NAME" "$LAB_S3_PORT $LAB_S3_BUCKET $LAB_S3_USER" \
    -e "LAB_S3_PORT=$LAB_S3_PORT" -e "LAB_S3_BUCKET=$LAB_S3_BUCKET" -e "LAB_S3_USER=$LAB_S3_USER" \
    -v "$vol:/var/lib/ceph" "$LAB_OBJECTS_IMAGE" /usr/local/sbin/lab-ceph
  run_service "$LAB_LB_NAME" "$LAB_LB_PORT $replicas" \
    -e "LAB_LB_PORT=$LAB_LB_PORT" -e "LAB_LB_REPLICAS=$replicas" "$LAB_OBJECTS_IMAGE" /usr/local/sbin/lab-lb
  # Ceph's first start (monitor, manager, OSD mkfs, radosgw's pools) takes a few minutes here.
  for i in $(seq 1 600); do
    dk exec "$c" test -e /var/lib/ceph/lab/ready 2>/dev/null && break
    if [[ "$(dk inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" != true ]]; then
      dk logs --tail 40 "$c" >&2 || true
      die "the Ceph container stopped; see 'docker logs $c'"
    fi
    sleep 1
  done
  ((i < 600)) || {
    dk logs --tail 40 "$c" >&2 || true
    die "Ceph was not ready within 600s; see 'docker logs $c'"
  }
  c=$(container_of "$LAB_LB_NAME")
  [[ "$(dk inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" == true ]] || {
    dk logs --tail 20 "$c" >&2 || true
    die "haproxy did not start; see 'docker logs $c'"
  }
  write_objects_state "$replicas"
  log "object store up in $(($(date +%s) - started))s: S3 at http://$LAB_CEPH_NAME:$LAB_S3_PORT ($(sed -n 's/.*"endpoint": "\([^"]*\)".*/\1/p' "$LAB_DIR/s3.json")) (bucket $LAB_S3_BUCKET), load balancer $LAB_LB_NAME:$LAB_LB_PORT -> $replicas"
}

# What the tests need to find the services; the S3 keys are not in it (read them from the Ceph
# container with radosgw-admin). A container that a lab host's own docker runs (a registry replica)
# cannot resolve the lab's names: docker's DNS for the lab network answers only the hosts themselves,
# and their containers get a copy of resolv.conf without it. So the endpoint those containers use
# is Ceph's address, and endpointName the name the hosts themselves can use.
write_objects_state() {
  local replicas="$1" tmp="$LAB_DIR/s3.json.tmp" list ip
  list=$(tr ',' '\n' <<<"$replicas" | sed 's/.*/"&"/' | paste -sd, -)
  ip=$(dk inspect -f "{{(index .NetworkSettings.Networks \"$LAB_NETWORK\").IPAddress}}" "$(container_of "$LAB_CEPH_NAME")")
  {
    printf '{\n  "ceph": {"container": %s, "name": "%s", "endpoint": "http://%s:%s", "endpointName": "http://%s:%s", "bucket": "%s", "user": "%s"},\n' \
      "$(json_str "$(container_of "$LAB_CEPH_NAME")")" "$LAB_CEPH_NAME" "$ip" "$LAB_S3_PORT" "$LAB_CEPH_NAME" "$LAB_S3_PORT" "$LAB_S3_BUCKET" "$LAB_S3_USER"
    printf '  "lb": {"container": %s, "address": "%s:%s", "replicas": [%s]}\n}\n' \
      "$(json_str "$(container_of "$LAB_LB_NAME")")" "$LAB_LB_NAME" "$LAB_LB_PORT" "$list"
  } >"$tmp"
  mv "$tmp" "$LAB_DIR/s3.json"
}
