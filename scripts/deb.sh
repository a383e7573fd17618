#!/usr/bin/env bash
# Builds the Debian package of the server (fieldpay-server_VERSION-1_ARCH.deb) with
# cargo-deb, in release, and prints its path. Installs cargo-deb from crates.io at a pinned
# version first if it is missing (a few minutes on a 2-core machine). Not part of the tests.
#
#   scripts/deb.sh                 build the package into $CARGO_TARGET_DIR/debian/
#   scripts/deb.sh --install       build it and install it (dpkg -i, as root)
#
# What the package holds and how to run it: docs/operations.md, "Installing the server
# package". Environment: CARGO_TARGET_DIR (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

CARGO_DEB_VERSION=3.8.0

install=false
for a in "$@"; do
  case "$a" in
    --install) install=true ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $a (see --help)" >&2; exit 2 ;;
  esac
done

command -v dpkg-deb >/dev/null || { echo "dpkg-deb is needed (a Debian or Ubuntu machine)" >&2; exit 1; }
if ! cargo deb --version 2>/dev/null | grep -q " $CARGO_DEB_VERSION\$"; then
  echo "installing cargo-deb $CARGO_DEB_VERSION from crates.io" >&2
  # Its own build folder, so the workspace's cache is not touched.
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/cargo-deb-build" \
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi

# cargo-deb prints the package's path as its last line.
deb=$(cargo deb -p fieldpay-server --output "$CARGO_TARGET_DIR/debian/" | tail -n 1)
[ -f "$deb" ] || { echo "cargo deb did not report a package: $deb" >&2; exit 1; }
if $install; then
  dpkg -i "$deb" >&2
fi
echo "$deb"
