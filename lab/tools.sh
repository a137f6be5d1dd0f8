#!/usr/bin/env bash
# Installs the Debian packages the tests need on the control node, and nothing else: the unit tests
# run Debian's docker-registry binary, so this comes before them; lab/up.sh calls the same check.
# Chromium is for the browser tests of `regbook ui` alone (test/e2e/ui.test.ts drives it with
# puppeteer-core), so it is checked here rather than with the lab's own tools.
# Usage: bash lab/tools.sh
set -euo pipefail
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=lab/build.sh
source "$LAB_SRC/build.sh"

# The unit tests lint every shell script regbook sends (test/unit/shell/scripts.test.ts). The lab
# itself does not need it, so it is asked for here rather than in build.sh.
LAB_TOOL_PACKAGES[shellcheck]=shellcheck

ensure_tools
if ! command -v chromium >/dev/null 2>&1; then
  [[ $EUID -eq 0 ]] || die "missing package: chromium; run as root, or: sudo apt-get install chromium"
  log "installing chromium (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
