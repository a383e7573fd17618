#!/usr/bin/env bash
# Runs every test of the workspace: unit, property and integration tests of the server, the IVR,
# the engine and the UI's host-side logic, the SIP tests (sipp, baresip), and the app's
# end-to-end tests (the real app under Xvfb, driven by tauri-driver + WebKitWebDriver). The
# integration tests start real servers on loopback ports. Installs what is missing first
# (scripts/setup.sh) and builds the UI into ui/dist, which the app embeds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --all -- --check
scripts/build-app.sh --ui-only
# The engine keeps its refresh token in the OS credential store: run the tests in a private
# D-Bus session with an unlocked gnome-keyring (a Secret Service), as a desktop would have.
# A throwaway keyring folder, so the login keyring is created fresh with the test password.
keyrings=$(mktemp -d)
trap 'rm -rf "$keyrings"' EXIT
XDG_DATA_HOME="$keyrings" dbus-run-session -- bash -c '
  echo -n fieldpay-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cargo test --workspace --no-fail-fast
'
