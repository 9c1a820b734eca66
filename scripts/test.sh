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
# Tools the tests run to check encodings and shells against the real thing.
need python3 || install_pkgs python3
need xxd || install_pkgs xxd
need node || install_pkgs nodejs
need dash || install_pkgs dash
need script || install_pkgs bsdutils
need base64 || install_pkgs coreutils

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo build --release --bins
# Library, binary and integration tests (no doc tests: there are none, and an
# empty doc-test run would be the last line CI reads).
cargo test --release --lib --bins --tests
