#!/usr/bin/env bash
# Runs every test of the workspace (unit, property and integration tests; the integration
# tests start real servers on loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --all -- --check
# The engine keeps its refresh token in the OS credential store: run the tests in a private
# D-Bus session with an unlocked gnome-keyring (a Secret Service), as a desktop would have.
# The app's shell and UI (src-tauri/, ui/) build with scripts/build-app.sh (wasm32 + WebKitGTK);
# they have no tests of their own yet (their end-to-end tests are issue 4's open part).
# A throwaway keyring folder, so the login keyring is created fresh with the test password.
keyrings=$(mktemp -d)
trap 'rm -rf "$keyrings"' EXIT
XDG_DATA_HOME="$keyrings" dbus-run-session -- bash -c '
  echo -n fieldpay-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cargo test --workspace --exclude fieldpay-app --exclude fieldpay-ui --no-fail-fast
'
