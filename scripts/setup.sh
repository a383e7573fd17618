#!/usr/bin/env bash
# Installs what FieldPay needs to build, run and test on Debian 12 (as root, or with sudo for
# apt). Sourced by the other scripts; idempotent: a second run only checks (a few seconds).
#
# - system packages (apt): build tools; WebKitGTK/GTK for the app's shell; Xvfb, xauth and
#   WebKitWebDriver to run and test the app headless; Chromium and chromedriver for the
#   server's web pages' browser tests (crates/server/tests/it/browser.rs); D-Bus + gnome-keyring for the OS credential
#   store; poppler-utils to check PDFs; espeak-ng + sox for SIP prompt audio and sipp/baresip as
#   the SIP test peers; fonts with Hangul for screenshots; PostgreSQL (the tests start a
#   throwaway server of their own: scripts/pg-test.sh).
# - Rust (rustup, with rustfmt and clippy) when cargo is missing; the wasm32 target for the UI.
# - wasm-bindgen-cli at exactly the version in Cargo.lock (the UI's JS glue) and tauri-driver
#   (the app's WebDriver front), both from crates.io into ~/.cargo/bin.
# - Tauri's command line (its bundler makes the app's .deb: scripts/deb.sh --app), pinned, from
#   the npm registry into ~/.local/share/fieldpay/ (Node.js and npm from apt when missing);
#   exported as FIELDPAY_TAURI_CLI; binaryen's wasm-opt the same way (FIELDPAY_WASM_OPT), which
#   build-app.sh runs on the UI's wasm.
#
# SKIP_APT=1 skips the package check.
set -euo pipefail
_fp_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_fp_pkgs=(build-essential pkg-config ca-certificates curl
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libsoup-3.0-dev
  xvfb xauth webkit2gtk-driver chromium chromium-driver fonts-nanum fonts-noto-cjk
  libdbus-1-dev dbus dbus-x11 gnome-keyring keyutils
  poppler-utils espeak-ng sox sip-tester baresip-core postgresql)
if [ "${SKIP_APT:-0}" != 1 ]; then
  _fp_missing=()
  for _p in "${_fp_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$_p" 2>/dev/null | grep -q "install ok installed" ||
      _fp_missing+=("$_p")
  done
  if [ ${#_fp_missing[@]} -gt 0 ]; then
    _fp_sudo=()
    [ "$(id -u)" -eq 0 ] || _fp_sudo=(sudo)
    echo "== installing system packages: ${_fp_missing[*]}"
    "${_fp_sudo[@]}" apt-get update
    "${_fp_sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "${_fp_missing[@]}"
  fi
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null 2>&1; then
  echo "== installing the Rust toolchain (rustup)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --component rustfmt,clippy
fi
if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx wasm32-unknown-unknown ||
    rustup target add wasm32-unknown-unknown
fi

# The version of crate $1 in the workspace's Cargo.lock.
_fp_lock_version() {
  awk -v n="name = \"$1\"" '$0 == n { getline; gsub(/version = |"/, ""); print; exit }' \
    "$_fp_root/Cargo.lock"
}
_fp_wbg=$(_fp_lock_version wasm-bindgen)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)" != "$_fp_wbg" ]; then
  echo "== installing wasm-bindgen-cli $_fp_wbg (the version in Cargo.lock)"
  # Not --locked: its lockfile names a webpki-roots version the registry no longer has. Its own
  # temporary target folder, not the workspace's.
  env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$_fp_wbg"
fi
_fp_td=2.1.0
if ! grep -q "^\"tauri-driver $_fp_td " "$HOME/.cargo/.crates.toml" 2>/dev/null ||
  ! command -v tauri-driver >/dev/null 2>&1; then
  echo "== installing tauri-driver $_fp_td"
  env -u CARGO_TARGET_DIR cargo install tauri-driver --version "$_fp_td" --locked
fi
# Installs npm package $1 at version $2 into ~/.local/share/fieldpay/<dir $3> (Node.js and npm
# from apt when missing).
_fp_npm_install() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "== installing Node.js and npm (apt)"
    _fp_sudo=()
    [ "$(id -u)" -eq 0 ] || _fp_sudo=(sudo)
    "${_fp_sudo[@]}" apt-get update
    "${_fp_sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
  fi
  echo "== installing $1 $2 (npm)"
  mkdir -p "$HOME/.local/share/fieldpay/$3"
  npm install --prefix "$HOME/.local/share/fieldpay/$3" --no-audit --no-fund --no-save "$1@$2" >/dev/null
}
_fp_tc=2.12.5
export FIELDPAY_TAURI_CLI="$HOME/.local/share/fieldpay/tauri-cli-$_fp_tc/node_modules/.bin/tauri"
if [ "$("$FIELDPAY_TAURI_CLI" --version 2>/dev/null || true)" != "tauri-cli $_fp_tc" ]; then
  _fp_npm_install @tauri-apps/cli "$_fp_tc" "tauri-cli-$_fp_tc"
fi
# binaryen's wasm-opt shrinks the UI's wasm (scripts/build-app.sh): npm's build, since Debian's
# binaryen (108) makes a wasm that leaves the page blank.
_fp_bo=132.0.0
export FIELDPAY_WASM_OPT="$HOME/.local/share/fieldpay/binaryen-$_fp_bo/node_modules/.bin/wasm-opt"
if ! "$FIELDPAY_WASM_OPT" --version 2>/dev/null | grep -q "version ${_fp_bo%%.*}"; then
  _fp_npm_install binaryen "$_fp_bo" "binaryen-$_fp_bo"
fi
unset -f _fp_npm_install
unset _p _fp_pkgs _fp_missing _fp_sudo _fp_wbg _fp_td _fp_tc _fp_bo
cargo --version
