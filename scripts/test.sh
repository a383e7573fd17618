#!/usr/bin/env bash
# Runs every test of the workspace: unit, property and integration tests of the server, the IVR,
# the engine and the UI's host-side logic, the SIP tests (sipp, baresip), and the app's
# end-to-end tests (the real app under Xvfb, driven by tauri-driver + WebKitWebDriver). The
# integration tests start real servers on loopback ports. Installs what is missing first
# (scripts/setup.sh) and builds the UI into ui/dist, which the app embeds. The server's
# integration suite runs twice: on SQLite, and on a throwaway PostgreSQL server started here
# (scripts/pg-test.sh) and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --all -- --check
scripts/build-app.sh --ui-only
# The desktop package (Tauri's bundler, a debug build): the e2e test `installed_package` unpacks
# it into a throwaway root and starts the installed binary.
FIELDPAY_E2E_DEB=$(scripts/deb.sh --app --debug)
export FIELDPAY_E2E_DEB
# The engine keeps its refresh token in the OS credential store: run the tests in a private
# D-Bus session with an unlocked gnome-keyring (a Secret Service), as a desktop would have.
# A throwaway keyring folder, so the login keyring is created fresh with the test password.
keyrings=$(mktemp -d)
eval "$(scripts/pg-test.sh start)"
trap 'scripts/pg-test.sh stop "$FIELDPAY_TEST_PG_DIR"; rm -rf "$keyrings"' EXIT
XDG_DATA_HOME="$keyrings" dbus-run-session -- bash -c '
  echo -n fieldpay-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cargo test --workspace --no-fail-fast; sqlite=$?
  echo "== the server integration suite again, on PostgreSQL"
  FIELDPAY_TEST_STORE=postgres cargo test -p fieldpay-server --test it --no-fail-fast; pg=$?
  exit $((sqlite | pg))
'
