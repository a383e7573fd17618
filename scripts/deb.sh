#!/usr/bin/env bash
# Builds FieldPay's Debian packages and prints the path of the one built (its last line).
#
#   scripts/deb.sh                   the server: fieldpay-server_VERSION-1_ARCH.deb (cargo-deb,
#                                    release) into $CARGO_TARGET_DIR/debian/
#   scripts/deb.sh --app             the desktop app: fieldpay_VERSION_ARCH.deb (Tauri's bundler,
#                                    release) into $CARGO_TARGET_DIR/release/bundle/deb/
#   scripts/deb.sh --app --debug     the same from a debug build (quicker; what the tests install)
#   scripts/deb.sh ... --install     build it and install it (apt-get install ./the.deb, as root)
#
# The server package: docs/operations.md, "Installing the server package". The app package:
# README, "Installing the app". Tools are installed first when missing: cargo-deb from crates.io
# (pinned; a few minutes on a 2-core machine), Tauri's command line from the npm registry
# (scripts/setup.sh). Environment: CARGO_TARGET_DIR (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR" ;; esac

CARGO_DEB_VERSION=3.8.0

install=false
app=false
debug=false
for a in "$@"; do
  case "$a" in
    --install) install=true ;;
    --app) app=true ;;
    --debug) debug=true ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $a (see --help)" >&2; exit 2 ;;
  esac
done
if $debug && ! $app; then
  echo "--debug is for the app's package (--app)" >&2
  exit 2
fi

command -v dpkg-deb >/dev/null || { echo "dpkg-deb is needed (a Debian or Ubuntu machine)" >&2; exit 1; }

if $app; then
  # The UI (ui/dist, embedded in the binary) and the tools, including Tauri's command line.
  scripts/build-app.sh --ui-only >&2
  # shellcheck source=setup.sh
  SKIP_APT=1 source scripts/setup.sh >&2
  version=$(awk -F'"' '/^\[workspace.package\]/ { p = 1 } p && /^version *=/ { print $2; exit }' Cargo.toml)
  [ -n "$version" ] || { echo "no version in Cargo.toml's [workspace.package]" >&2; exit 1; }
  if $debug; then
    profile=debug
    cargo build -p fieldpay-app --features custom-protocol >&2
  else
    profile=release
    cargo build -p fieldpay-app --release --features custom-protocol >&2
  fi
  # Tauri's bundler packs the binary built above (the desktop entry with its Korean name,
  # the icons, the dependencies: tauri.conf.json "bundle"). Its command line wants the config
  # next to the app's own Cargo.toml (the root one is the workspace's), so it gets a copy in
  # src-tauri/ for the time of the bundling, with its paths made relative to that folder.
  generated=src-tauri/tauri.conf.json
  trap 'rm -f "$generated"' EXIT
  node -e '
    const fs = require("fs");
    const c = JSON.parse(fs.readFileSync("tauri.conf.json", "utf8"));
    const up = (p) => "../" + p;
    c.version = process.argv[1];
    c.build.frontendDist = up(c.build.frontendDist);
    c.bundle.active = true;
    c.bundle.icon = c.bundle.icon.map(up);
    c.bundle.linux.deb.desktopTemplate = up(c.bundle.linux.deb.desktopTemplate);
    fs.writeFileSync(process.argv[2], JSON.stringify(c, null, 2));
  ' "$version" "$generated"
  bundle_args=(bundle --bundles deb)
  $debug && bundle_args+=(--debug)
  TAURI_APP_PATH="$PWD/src-tauri" "$FIELDPAY_TAURI_CLI" "${bundle_args[@]}" >&2
  deb=$(find "$CARGO_TARGET_DIR/$profile/bundle/deb" -maxdepth 1 -iname "fieldpay_${version}_*.deb" 2>/dev/null | head -n 1 || true)
  [ -n "$deb" ] && [ -f "$deb" ] || { echo "the bundler made no package under $CARGO_TARGET_DIR/$profile/bundle/deb/" >&2; exit 1; }
else
  if ! cargo deb --version 2>/dev/null | grep -q " $CARGO_DEB_VERSION\$"; then
    echo "installing cargo-deb $CARGO_DEB_VERSION from crates.io" >&2
    # Its own build folder, so the workspace's cache is not touched.
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/cargo-deb-build" \
      cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
  fi
  # cargo-deb prints the package's path as its last line.
  deb=$(cargo deb -p fieldpay-server --output "$CARGO_TARGET_DIR/debian/" | tail -n 1)
  [ -f "$deb" ] || { echo "cargo deb did not report a package: $deb" >&2; exit 1; }
fi
if $install; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb" >&2
fi
echo "$deb"
