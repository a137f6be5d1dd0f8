#!/bin/bash
# haproxy in front of the registry replicas, as an operator's load balancer would be: plain TCP, so
# TLS passes through to the replicas and each client checks the registry's own certificate.
# LAB_LB_REPLICAS names the replica hosts (comma-separated); each is reached at NAME:5000 on the lab
# network. A replica that does not accept connections is taken out of the rotation until it does.
set -euo pipefail
PORT="${LAB_LB_PORT:-5000}"
IFS=, read -r -a replicas <<<"${LAB_LB_REPLICAS:-master}"
{
  cat <<CONF
global
  log stdout format raw local0
  maxconn 2000

defaults
  mode tcp
  log global
  option tcplog
  timeout connect 5s
  # A connection a stopped replica refuses is tried again on another one.
  option redispatch
  retries 2
  timeout client 10m
  timeout server 10m
  # A replica's name resolves once its container runs; a missing one is skipped, not fatal.
  default-server init-addr last,libc,none check inter 2s fall 2 rise 1

resolvers lab
  parse-resolv-conf
  hold valid 5s

frontend registry
  bind :$PORT
  default_backend replicas

backend replicas
  balance roundrobin
CONF
  for r in "${replicas[@]}"; do
    printf '  server %s %s:5000 resolvers lab\n' "$r" "$r"
  done
} >/etc/haproxy/haproxy.cfg
haproxy -c -q -f /etc/haproxy/haproxy.cfg
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
