#!/usr/bin/env bash
# Installs the Debian packages the tests need on the control node, and nothing else: the unit tests
# run Debian's docker-registry binary, so this comes before them; lab/up.sh calls the same check.
# Usage: bash lab/tools.sh
set -euo pipefail
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=lab/build.sh
source "$LAB_SRC/build.sh"

ensure_tools
