#!/usr/bin/env bash
# Installs the Debian packages the tests need on the control node, and nothing else: the unit tests
# run Debian's docker-registry binary, so this comes before them; lab/up.sh calls the same check.
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
