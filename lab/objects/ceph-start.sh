#!/bin/bash
# A single-node Ceph cluster, made by hand the way Ceph's "manual deployment" guide does it: one
# monitor, one manager, one OSD whose BlueStore lives in a file, and radosgw serving S3 on
# LAB_S3_PORT. First start bootstraps the cluster in /var/lib/ceph (a volume) and makes the S3 user
# and bucket; a later start reuses them. Runs in the foreground as the container's main process.
set -euo pipefail
NAME=$(hostname -s)
PORT="${LAB_S3_PORT:-7480}"
BUCKET="${LAB_S3_BUCKET:-registry}"
S3USER="${LAB_S3_USER:-registry}"
STATE=/var/lib/ceph
log() { printf '[ceph] %s\n' "$*"; }

ip=$(hostname -i | awk '{ print $1 }')
mkdir -p /etc/ceph /var/run/ceph /var/log/ceph
rm -f "$STATE/lab/ready"

if [[ ! -s $STATE/lab/fsid ]]; then
  mkdir -p "$STATE/lab"
  uuidgen >"$STATE/lab/fsid"
fi
fsid=$(cat "$STATE/lab/fsid")

# The monitor's address is this container's, which a restart may change; the monmap is remade below.
# Small pools and one replica: a lab of one OSD. The memory target is the smallest Ceph accepts, so
# the OSD stays near a gigabyte.
cat >/etc/ceph/ceph.conf <<CONF
[global]
fsid = $fsid
mon initial members = $NAME
mon host = [v2:$ip:3300,v1:$ip:6789]
public network = $(ip -o -4 addr show scope global | awk '{ print $4; exit }')
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
auth allow insecure global id reclaim = false
mon data avail warn = 5
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon allow pool delete = true
ms bind ipv6 = false
[osd]
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 6442450944
osd memory target = 939524096
bluestore cache autotune = true
[client.rgw.$NAME]
rgw frontends = beast port=$PORT
rgw dns name = $NAME
rgw enable usage log = false
CONF

admin_keyring=$STATE/lab/client.admin.keyring
if [[ ! -e $STATE/lab/bootstrapped ]]; then
  log "bootstrapping cluster $fsid"
  ceph-authtool --create-keyring "$STATE/lab/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$admin_keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$STATE/lab/mon.keyring" --import-keyring "$admin_keyring" >/dev/null
  monmaptool --create --addv "$NAME" "[v2:$ip:3300,v1:$ip:6789]" --fsid "$fsid" "$STATE/lab/monmap" >/dev/null
  rm -rf "$STATE/mon/ceph-$NAME"
  mkdir -p "$STATE/mon/ceph-$NAME"
  ceph-mon --mkfs -i "$NAME" --monmap "$STATE/lab/monmap" --keyring "$STATE/lab/mon.keyring"
fi
cp "$admin_keyring" /etc/ceph/ceph.client.admin.keyring
chmod 0600 /etc/ceph/ceph.client.admin.keyring

# A restarted container may have a new address: rewrite the monitor's entry in the monmap.
if [[ -e $STATE/lab/bootstrapped ]]; then
  ceph-mon -i "$NAME" --extract-monmap /tmp/monmap >/dev/null 2>&1
  monmaptool --rm "$NAME" /tmp/monmap >/dev/null
  monmaptool --addv "$NAME" "[v2:$ip:3300,v1:$ip:6789]" /tmp/monmap >/dev/null
  ceph-mon -i "$NAME" --inject-monmap /tmp/monmap >/dev/null 2>&1
fi

log "starting mon"
ceph-mon -i "$NAME"
for _ in $(seq 1 60); do ceph -s >/dev/null 2>&1 && break; sleep 1; done

mgr_dir=$STATE/mgr/ceph-$NAME
if [[ ! -s $mgr_dir/keyring ]]; then
  mkdir -p "$mgr_dir"
  ceph auth get-or-create "mgr.$NAME" mon 'allow profile mgr' osd 'allow *' mds 'allow *' >"$mgr_dir/keyring"
fi
log "starting mgr"
ceph-mgr -i "$NAME"

if [[ ! -s $STATE/lab/osd-id ]]; then
  uuid=$(uuidgen)
  secret=$(ceph-authtool --gen-print-key)
  id=$(printf '{"cephx_secret": "%s"}' "$secret" | ceph osd new "$uuid" -i -)
  osd_dir=$STATE/osd/ceph-$id
  mkdir -p "$osd_dir"
  ceph-authtool --create-keyring "$osd_dir/keyring" --name "osd.$id" --add-key "$secret" >/dev/null
  log "making osd.$id (BlueStore in $osd_dir/block)"
  # BlueStore on a file logs that it finds no block device name; that is expected, so it goes to a file.
  ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" >>/var/log/ceph/lab-osd-mkfs.log 2>&1
  echo "$id" >"$STATE/lab/osd-id"
fi
id=$(cat "$STATE/lab/osd-id")
log "starting osd.$id"
ceph-osd -i "$id" 2>>/var/log/ceph/lab-osd-start.log
for _ in $(seq 1 120); do
  [[ "$(ceph osd stat -f json 2>/dev/null | sed -n 's/.*"num_up_osds":\([0-9]*\).*/\1/p')" == 1 ]] && break
  sleep 1
done

rgw_dir=$STATE/radosgw/ceph-rgw.$NAME
if [[ ! -s $rgw_dir/keyring ]]; then
  mkdir -p "$rgw_dir"
  ceph auth get-or-create "client.rgw.$NAME" mon 'allow rw' osd 'allow rwx' mgr 'allow rw' >"$rgw_dir/keyring"
fi
log "starting radosgw on port $PORT"
radosgw -n "client.rgw.$NAME" --keyring "$rgw_dir/keyring"
for _ in $(seq 1 120); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break; sleep 1; done

# The S3 user (its keys made by radosgw) and the registry's bucket, made through the S3 API itself.
if ! radosgw-admin user info --uid="$S3USER" >/dev/null 2>&1; then
  log "making S3 user $S3USER"
  radosgw-admin user create --uid="$S3USER" --display-name="regbook registry" >/dev/null
fi
keys=$(radosgw-admin user info --uid="$S3USER")
ak=$(sed -n 's/.*"access_key": "\([^"]*\)".*/\1/p' <<<"$keys" | head -n1)
sk=$(sed -n 's/.*"secret_key": "\([^"]*\)".*/\1/p' <<<"$keys" | head -n1)
if ! radosgw-admin bucket stats --bucket="$BUCKET" >/dev/null 2>&1; then
  log "making bucket $BUCKET"
  # The keys go to curl in a config read from stdin, not in its argv. radosgw checks the payload
  # hash header that curl does not add by itself: this one is the SHA-256 of the empty body.
  printf 'user = "%s:%s"\n' "$ak" "$sk" |
    curl -fsS -K - --aws-sigv4 'aws:amz:us-east-1:s3' -X PUT \
      -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
      "http://127.0.0.1:$PORT/$BUCKET" >/dev/null
fi
touch "$STATE/lab/bootstrapped"
echo ready >"$STATE/lab/ready"
log "ready: S3 at http://$NAME:$PORT, bucket $BUCKET"

# Stay in the foreground while the daemons run; stop them cleanly on docker stop.
trap 'pkill -TERM -x radosgw; pkill -TERM -x ceph-osd; pkill -TERM -x ceph-mgr; pkill -TERM -x ceph-mon; exit 0' TERM INT
while pgrep -x ceph-mon >/dev/null && pgrep -x ceph-osd >/dev/null && pgrep -x radosgw >/dev/null; do
  sleep 5 &
  wait $! || true
done
log "a daemon exited"
tail -n 30 /var/log/ceph/*.log || true
exit 1
