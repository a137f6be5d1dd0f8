#!/usr/bin/env bash
# The whole runbook in three commands: bring up the lab (a master and three workers with their own
# sshd and dockerd), apply the example playbook to it, and list what the registry now holds.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli/main.js ] || npm run build
bash lab/up.sh "$@"
echo
echo "\$ regbook apply playbooks/site.yaml -i .lab/inventory.yaml"
node dist/cli/main.js apply playbooks/site.yaml -i .lab/inventory.yaml
echo
echo "\$ regbook catalog playbooks/site.yaml -i .lab/inventory.yaml"
node dist/cli/main.js catalog playbooks/site.yaml -i .lab/inventory.yaml
