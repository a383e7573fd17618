#!/usr/bin/env bash
# Builds the UI into ui/dist (index.html, style.css, fieldpay_ui.js, fieldpay_ui_bg.wasm).
# Needs: rustup target wasm32-unknown-unknown; wasm-bindgen-cli 0.2.130 on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"
# Size: opt-level "z" for fieldpay-ui comes from the root Cargo.toml; LTO and one codegen unit are
# profile-wide settings, so they are given here for this build only (about 2.6 MB -> well under
# 1.5 MB), without changing the release profile of the server and the shell.
CARGO_PROFILE_RELEASE_LTO=true \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
  cargo build -p fieldpay-ui --target wasm32-unknown-unknown --release
mkdir -p ui/dist
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir ui/dist \
  "$TARGET_DIR/wasm32-unknown-unknown/release/fieldpay_ui.wasm"
cp ui/index.html ui/style.css ui/dist/
ls -l ui/dist
