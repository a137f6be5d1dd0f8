#!/bin/bash
# Entry point of a lab host: behaves like a machine booting. Runs under --init (tini as PID 1), so
# processes that daemons leave behind are reaped and `service docker restart` does not hang.
set -euo pipefail

# Runtime state of a previous run of this container (docker stop/start) is stale now.
rm -rf /run/docker /run/containerd /run/docker.sock /run/docker.pid /run/sshd.pid /run/sshd

# SSH host keys are made on first boot, never in the image: every host gets its own, as real machines
# do. A copy of the first keys lets the lab put them back after a test replaced them.
if ! compgen -G '/etc/ssh/ssh_host_*_key' >/dev/null; then
  ssh-keygen -A >/dev/null
fi
if [[ ! -d /var/lib/regbook-lab/hostkeys ]]; then
  mkdir -p /var/lib/regbook-lab/hostkeys
  cp -p /etc/ssh/ssh_host_* /var/lib/regbook-lab/hostkeys/
fi

# The account the control node logs in with; a non-root one gets passwordless sudo.
login_user="${LAB_LOGIN_USER:-root}"
if [[ "$login_user" != root ]] && ! id "$login_user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$login_user"
  printf '%s ALL=(ALL) NOPASSWD: ALL\n' "$login_user" >"/etc/sudoers.d/90-$login_user"
  chmod 0440 "/etc/sudoers.d/90-$login_user"
fi
if [[ -n "${LAB_AUTHORIZED_KEY:-}" ]]; then
  home="$(getent passwd "$login_user" | cut -d: -f6)"
  install -d -m 0700 -o "$login_user" -g "$login_user" "$home/.ssh"
  printf '%s\n' "$LAB_AUTHORIZED_KEY" >"$home/.ssh/authorized_keys"
  chown "$login_user:$login_user" "$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
fi

# On a Debian host with systemd, containerd is a service of its own and docker.service points dockerd
# at its socket, so `systemctl restart docker` leaves containerd running. Debian's init script alone
# would have dockerd start a containerd of its own and stop it at every restart, which costs a real
# host's restart nothing and a lab host's ~1 s (dockerd waits on a reconnect before it exits). Run it
# the way the systemd units do.
setsid containerd >/var/log/containerd.log 2>&1 </dev/null &
for _ in $(seq 1 200); do [[ -S /run/containerd/containerd.sock ]] && break; sleep 0.05; done
service docker start
# A lab host has no syslog: sshd logs to a file of its own, where tests count the logins a run makes.
grep -q '^SSHD_OPTS=.*-E' /etc/default/ssh 2>/dev/null || echo 'SSHD_OPTS="-E /var/log/sshd.log"' >>/etc/default/ssh
service ssh start

shutdown() {
  service ssh stop || true
  service docker stop || true
  pkill -x containerd || true
  exit 0
}
trap shutdown TERM INT
sleep infinity &
wait $!
