#!/usr/bin/env bash
# Installs what FieldPay needs to build and test on Debian 12 (run as root). Idempotent:
# a second run only checks.
set -euo pipefail

need_apt=()
# build tools; libdbus for the OS credential store (keyring); dbus + gnome-keyring to run it
# headless in tests; poppler-utils to check purchase-order PDFs; for the SIP endpoint:
# espeak-ng + sox make the prompt audio, sipp (sip-tester) and baresip are the softphones
# of its tests.
for pkg in build-essential pkg-config ca-certificates curl libdbus-1-dev dbus dbus-x11 gnome-keyring \
    keyutils poppler-utils espeak-ng sox sip-tester baresip-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing system packages: ${need_apt[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "== installing the Rust toolchain (rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
cargo --version
