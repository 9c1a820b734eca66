#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit, integration and property
# tests, and the rules' own examples. Installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
install_pkgs() {
  if [ "$(id -u)" = 0 ] && need apt-get; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "test.sh: please install: $*" >&2; exit 2
  fi
}
need git || install_pkgs git
need zip || install_pkgs zip
need python3 || install_pkgs python3

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo build --release --bins
cargo test --release
