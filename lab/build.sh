# Prerequisites on the control node and the images the lab is made of (sourced by up.sh).

# Debian packages the lab needs on the control node, by the command that proves each is there.
declare -A LAB_TOOL_PACKAGES=(
  [dockerd]=docker.io
  [mmdebstrap]=mmdebstrap
  [docker-registry]=docker-registry
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [flock]=util-linux
)
# Packages of the host image: sshd and docker, plus what Ansible's docker modules need, plus podman and
# skopeo (the containers/image clients whose trust lives in /etc/containers/certs.d).
LAB_HOST_PACKAGES=openssh-server,docker.io,iptables,mount,ca-certificates,curl,openssl,sudo,procps,iproute2,python3,python3-docker,python3-cryptography,podman,skopeo
LAB_SUITE=bookworm

ensure_tools() {
  local missing=() cmd
  for cmd in "${!LAB_TOOL_PACKAGES[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${LAB_TOOL_PACKAGES[$cmd]}")
  done
  # The application images need a static busybox; Debian's dynamic one would not run FROM scratch.
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [[ $EUID -ne 0 ]]; then
    die "missing packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}"
  fi
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get: the lab needs a Debian-family control node"
  log "installing ${missing[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_dockerd() {
  dk info >/dev/null 2>&1 && return 0
  if [[ -S /var/run/docker.sock ]] && pgrep -x dockerd >/dev/null; then
    die "dockerd runs but '$DOCKER info' fails (permissions?); run as root or join the docker group"
  fi
  [[ $EUID -eq 0 ]] || die "no Docker engine is running; start one as root (dockerd), or run this script as root"
  log "starting dockerd (log: $LAB_DIR/dockerd.log)"
  # fd 9 (the lab lock) must not leak into the daemon, or it would hold the lock forever.
  setsid nohup dockerd >>"$LAB_DIR/dockerd.log" 2>&1 </dev/null 9>&- &
  local i
  for i in $(seq 1 60); do
    dk info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  tail -n 20 "$LAB_DIR/dockerd.log" >&2 || true
  die "dockerd did not start within 30s; see $LAB_DIR/dockerd.log"
}

# The mirrors mmdebstrap uses: this machine's own Debian sources when they are for the lab's suite.
debian_mirrors() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [[ -f $f ]] && grep -q "Suites:.*$LAB_SUITE" "$f"; then
    echo "$f"
  else
    echo "deb http://deb.debian.org/debian $LAB_SUITE main"
    echo "deb http://deb.debian.org/debian $LAB_SUITE-updates main"
    echo "deb http://deb.debian.org/debian-security $LAB_SUITE-security main"
  fi
}

# Builds IMAGE as a Debian root file system holding PACKAGES (mmdebstrap, no image hub), unless the
# image already carries the hash of the suite and that package list. WHAT is said while it builds.
build_rootfs_image() {
  local image=$1 packages=$2 what=$3 want have
  want=$(printf '%s %s' "$LAB_SUITE" "$packages" | sha256sum | cut -c1-16)
  have=$(image_label "$image" "$LAB_LABEL.hash")
  [[ "$have" == "$want" ]] && return 0
  log "building $what (mmdebstrap)"
  local tar="$LAB_DIR/build/rootfs-$want.tar" mirrors
  mapfile -t mirrors < <(debian_mirrors)
  mmdebstrap --quiet --variant=apt --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$LAB_SUITE" "$tar" "${mirrors[@]}" </dev/null
  dk import --change "LABEL $LAB_LABEL=image $LAB_LABEL.hash=$want" "$tar" "$image" >/dev/null
  rm -f "$tar"
}

build_base_image() {
  build_rootfs_image "$LAB_BASE_IMAGE" "$LAB_HOST_PACKAGES" "the Debian $LAB_SUITE host file system"
}

build_host_image() {
  local want have
  want=$( (dk image inspect -f '{{.Id}}' "$LAB_BASE_IMAGE"; hash_files lab/host) | sha256sum | cut -c1-16)
  have=$(image_label "$LAB_HOST_IMAGE" "$LAB_LABEL.hash")
  [[ "$have" == "$want" ]] && return 0
  log "building the host image $LAB_HOST_IMAGE"
  dk build -q --build-arg "BASE=$LAB_BASE_IMAGE" --label "$LAB_LABEL=image" --label "$LAB_LABEL.hash=$want" \
    -t "$LAB_HOST_IMAGE" "$LAB_SRC/host" >/dev/null
}

# registry:2 from Debian's docker-registry binary, its shared libraries and its loader.
build_registry_image() {
  local bin want have
  bin=$(command -v docker-registry)
  want=$( (sha256sum "$bin"; hash_files lab/registry) | sha256sum | cut -c1-16)
  have=$(image_label registry:2 "$LAB_LABEL.hash")
  [[ "$have" == "$want" ]] && return 0
  log "building registry:2 from $bin"
  local ctx="$LAB_DIR/build/registry" lib
  rm -rf "$ctx" && mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc/docker/registry" "$ctx/rootfs/var/lib/registry" "$ctx/rootfs/tmp"
  chmod 1777 "$ctx/rootfs/tmp"
  cp "$bin" "$ctx/rootfs/bin/registry"
  # Every library ldd names, and the loader, at the same paths as on this machine.
  for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
  cp "$LAB_SRC/registry/config.yml" "$ctx/rootfs/etc/docker/registry/config.yml"
  dk build -q --label "$LAB_LABEL=image" --label "$LAB_LABEL.hash=$want" \
    -f "$LAB_SRC/registry/Dockerfile" -t registry:2 "$ctx" >/dev/null
}

# A busybox image whose page names it, so each tag has its own content and digest.
build_app_image() {
  local ref="$1" want have busybox=/bin/busybox
  want=$( (echo "$ref"; sha256sum "$busybox"; hash_files lab/app) | sha256sum | cut -c1-16)
  have=$(image_label "$ref" "$LAB_LABEL.hash")
  [[ "$have" == "$want" ]] && return 0
  log "building $ref"
  local ctx="$LAB_DIR/build/${ref//[:\/]/-}" applet
  rm -rf "$ctx" && mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/www" "$ctx/rootfs/tmp"
  cp "$busybox" "$ctx/rootfs/bin/busybox"
  for applet in $("$busybox" --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$ctx/rootfs/bin/$applet"
  done
  printf '<h1>%s</h1>\n' "$ref" >"$ctx/rootfs/www/index.html"
  dk build -q --label "$LAB_LABEL=image" --label "$LAB_LABEL.hash=$want" \
    -f "$LAB_SRC/app/Dockerfile" -t "$ref" "$ctx" >/dev/null
}

build_images() {
  build_base_image
  build_host_image
  build_registry_image
  build_app_image app:0.1
  build_app_image app:0.2
  build_app_image tool:1.0
}

# `docker save` tarballs in .lab/images, remade only when the image changed.
save_archives() {
  local pair ref file id
  for pair in "${LAB_PAYLOAD_IMAGES[@]}"; do
    ref="${pair%%=*}" file="$LAB_DIR/images/${pair#*=}"
    id=$(dk image inspect -f '{{.Id}}' "$ref")
    if [[ -s "$file" && "$(cat "$LAB_DIR/build/${pair#*=}.id" 2>/dev/null)" == "$id" ]]; then continue; fi
    log "saving $ref to ${file#"$LAB_ROOT"/}"
    dk save -o "$file.tmp" "$ref"
    chmod 0644 "$file.tmp"
    mv "$file.tmp" "$file"
    echo "$id" >"$LAB_DIR/build/${pair#*=}.id"
  done
}
