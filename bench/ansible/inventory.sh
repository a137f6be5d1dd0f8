#!/usr/bin/env bash
# Writes an Ansible INI inventory for a lab instance from its state.json (the hosts lab/up.sh or
# bench/lab-up.sh wrote). Usage: bash bench/ansible/inventory.sh LAB_DIR > hosts.ini
set -euo pipefail
lab_dir="$(cd "${1:?usage: inventory.sh LAB_DIR}" && pwd)"
node --input-type=module - "$lab_dir" <<'JS'
import { readFileSync } from 'node:fs';
const dir = process.argv[2];
const state = JSON.parse(readFileSync(`${dir}/state.json`, 'utf8'));
const line = (h) =>
  `${h.name} ansible_host=${h.address} ansible_port=${h.port} ansible_user=${h.user}` +
  (h.become ? ` ansible_become=true ansible_become_method=${h.become}` : '');
const master = state.hosts.filter((h) => h.name === 'master');
const workers = state.hosts.filter((h) => h.name !== 'master');
const knownHosts = `-o UserKnownHostsFile=${state.knownHosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`;
const lines = [
  `# Written by bench/ansible/inventory.sh from ${dir}/state.json`,
  '[master]',
  ...master.map(line),
  '',
  '[workers]',
  ...workers.map(line),
  '',
  '[all:vars]',
  `ansible_ssh_private_key_file=${state.key}`,
  `ansible_ssh_common_args='${knownHosts}'`,
];
console.log(lines.join('\n'));
JS
