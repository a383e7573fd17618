#!/usr/bin/env bash
# Builds the FieldPay app on Debian 12 (as root, or with sudo for apt): system packages, the
# wasm toolchain (target + wasm-bindgen-cli pinned to Cargo.lock), the UI (ui/ -> ui/dist) and the
# Tauri shell (fieldpay-app). Idempotent: a second run only checks, and rebuilds what changed.
#
#   scripts/build-app.sh            debug shell:   $CARGO_TARGET_DIR/debug/fieldpay-app
#   scripts/build-app.sh --release  release shell: $CARGO_TARGET_DIR/release/fieldpay-app
#
# Environment: CARGO_TARGET_DIR (default ./target); FIELDPAY_UI_DIR (a UI crate folder other than
# ui/, e.g. a test placeholder with its own workspace; its dist/ is embedded instead);
# SKIP_APT=1 skips the package check.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

release=0
ui_only=0
for arg in "$@"; do
  case "$arg" in
    --release) release=1 ;;
    --ui-only) ui_only=1 ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build-app.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

started=$SECONDS
mark=$SECONDS
done_step() {
  echo "   ($1: $((SECONDS - mark)) s)"
  mark=$SECONDS
}

# ---------------------------------------------------------------- 1. packages and tools
# scripts/setup.sh: system packages (WebKitGTK, Xvfb, WebKitWebDriver, ...), Rust, the wasm
# target, wasm-bindgen-cli pinned to Cargo.lock, tauri-driver.
echo "== packages and tools"
# shellcheck source=setup.sh
source scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$root/$CARGO_TARGET_DIR" ;; esac
ui_dir="${FIELDPAY_UI_DIR:-ui}"
ui_dir="${ui_dir%/}"
case "$ui_dir" in /*) ;; *) ui_dir="$root/$ui_dir" ;; esac
done_step "tools"

# ---------------------------------------------------------------- 3. the UI (wasm) -> ui/dist
echo "== UI (${ui_dir#"$root/"} -> ${ui_dir#"$root/"}/dist)"
if [ ! -f "$ui_dir/index.html" ]; then
  echo "${ui_dir#"$root/"}/index.html is missing (the page that loads ./fieldpay_ui.js)" >&2
  exit 1
fi
if [ "$ui_dir" = "$root/ui" ]; then
  ui_pkg=(-p fieldpay-ui)
else
  ui_pkg=(--manifest-path "$ui_dir/Cargo.toml")
fi
# A profile of its own for the wasm: small code, without touching the workspace's release profile.
# `erase_components` (a Leptos setting): components and reactive closures as type-erased views,
# so the view code is compiled once per output type instead of once per call site (the UI's
# wasm 1.75 -> 1.38 MB; BENCHMARKS.md, row 9). A RUSTFLAGS in the environment replaces it.
cargo build "${ui_pkg[@]}" --lib --target wasm32-unknown-unknown --profile wasm-release \
  --config 'target.wasm32-unknown-unknown.rustflags=["--cfg","erase_components"]' \
  --config 'profile.wasm-release.inherits="release"' \
  --config 'profile.wasm-release.opt-level="z"' \
  --config 'profile.wasm-release.lto=true' \
  --config 'profile.wasm-release.debug=false'
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/fieldpay_ui.wasm"
dist="$ui_dir/dist"
mkdir -p "$dist"
if [ ! -f "$dist/fieldpay_ui_bg.wasm" ] || [ ! -f "$dist/fieldpay_ui.js" ] ||
  [ "$wasm" -nt "$dist/fieldpay_ui_bg.wasm" ]; then
  # No name or producers sections: they are only for debugging and double the size.
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$dist" "$wasm"
  # Size pass; only a recent binaryen (npm `binaryen`, installed by setup.sh): Debian's 108
  # breaks the page.
  wasm_opt="${FIELDPAY_WASM_OPT:-wasm-opt}"
  if command -v "$wasm_opt" >/dev/null 2>&1; then
    wo=$("$wasm_opt" --version 2>/dev/null | grep -oE 'version [0-9]+' | awk '{print $2}' || true)
    if [ "${wo:-0}" -ge 116 ]; then
      "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-reference-types --enable-multivalue --enable-mutable-globals \
        -o "$dist/fieldpay_ui_bg.opt.wasm" "$dist/fieldpay_ui_bg.wasm" &&
        mv "$dist/fieldpay_ui_bg.opt.wasm" "$dist/fieldpay_ui_bg.wasm" ||
        echo "   wasm-opt failed; keeping the unoptimised wasm"
    else
      echo "   skipping wasm-opt ${wo:-?} (needs binaryen >= 116, e.g. npm i -g binaryen)"
    fi
  fi
fi
# Static files: index.html and the style sheets next to it (ui/style.css), and everything under
# ui/public/ (fonts, images) as is. Copied only when different, so an unchanged UI does not make
# the shell rebuild.
copy_if_changed() {
  mkdir -p "$(dirname "$2")"
  cmp -s "$1" "$2" || cp "$1" "$2"
}
for f in "$ui_dir"/index.html "$ui_dir"/*.css; do
  [ -f "$f" ] && copy_if_changed "$f" "$dist/$(basename "$f")"
done
if [ -d "$ui_dir/public" ]; then
  (cd "$ui_dir/public" && find . -type f -print0) | while IFS= read -r -d '' f; do
    copy_if_changed "$ui_dir/public/$f" "$dist/$f"
  done
fi
done_step "ui"
[ $ui_only = 0 ] || exit 0

# ---------------------------------------------------------------- 4. the shell
echo "== shell (fieldpay-app, $([ $release = 1 ] && echo release || echo debug))"
if [ "$ui_dir" != "$root/ui" ]; then
  export FIELDPAY_UI_DIST="$dist" # src-tauri/build.rs embeds this folder instead of ui/dist
else
  unset FIELDPAY_UI_DIST
fi
if [ $release = 1 ]; then
  cargo build -p fieldpay-app --release --features custom-protocol
  bin="$CARGO_TARGET_DIR/release/fieldpay-app"
else
  cargo build -p fieldpay-app
  bin="$CARGO_TARGET_DIR/debug/fieldpay-app"
fi
done_step "shell"
echo "== built $bin in $((SECONDS - started)) s"
