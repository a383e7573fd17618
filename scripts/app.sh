#!/usr/bin/env bash
# Builds the app (scripts/build-app.sh) and starts FieldPay in sandbox mode: the ARS server runs
# inside the app with demo data and the app is signed in as the demo rep (rep1).
#
#   scripts/app.sh [--release] [--no-build] [APP ARGS...]   e.g. scripts/app.sh --data /tmp/fp
#
# Data folder: --data DIR, else $FIELDPAY_APP_DATA, else ~/.local/share/kr.fieldpay.app.
# Headless (no $DISPLAY): runs under Xvfb. No Secret Service on the session bus (e.g. a server or
# a container): runs inside its own D-Bus session with a gnome-keyring unlocked by
# $FIELDPAY_KEYRING_PASSWORD (default "fieldpay"), whose keyrings live in <data>/keyring/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build_args=()
build=1
app_args=()
data=""
while [ $# -gt 0 ]; do
  case "$1" in
    --release) build_args+=(--release); shift ;;
    --no-build) build=0; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    --data) data="${2:?--data needs a folder}"; shift 2 ;;
    --data=*) data="${1#--data=}"; shift ;;
    *) app_args+=("$1"); shift ;;
  esac
done

[ $build = 0 ] || scripts/build-app.sh ${build_args[@]+"${build_args[@]}"}

target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
profile=debug
[ ${#build_args[@]} -eq 0 ] || profile=release
bin="$target/$profile/fieldpay-app"
[ -x "$bin" ] || { echo "no $bin: run scripts/build-app.sh first" >&2; exit 1; }

data="${data:-${FIELDPAY_APP_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/kr.fieldpay.app}}"
mkdir -p "$data"
data="$(cd "$data" && pwd)"
cmd=("$bin" --sandbox --data "$data" ${app_args[@]+"${app_args[@]}"})

has_secret_service() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || return 1
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
    grep -q 'boolean true'
}

if ! has_secret_service; then
  # A private session bus and keyring. XDG_DATA_HOME only for the keyring daemon, so the login
  # keyring is created (first run) and unlocked (later runs) with the same password.
  export FIELDPAY_KEYRING_DIR="$data/keyring"
  export FIELDPAY_KEYRING_PASSWORD="${FIELDPAY_KEYRING_PASSWORD:-fieldpay}"
  mkdir -p "$FIELDPAY_KEYRING_DIR"
  chmod 700 "$FIELDPAY_KEYRING_DIR"
  # shellcheck disable=SC2016 # expanded by the inner shell
  inner='printf %s "$FIELDPAY_KEYRING_PASSWORD" |
    XDG_DATA_HOME="$FIELDPAY_KEYRING_DIR" gnome-keyring-daemon --unlock --components=secrets >/dev/null
    unset FIELDPAY_KEYRING_PASSWORD
    exec "$@"'
  cmd=(dbus-run-session -- bash -c "$inner" fieldpay-app "${cmd[@]}")
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "== no display: running under Xvfb (1280x900)"
  cmd=(xvfb-run -a -s "-screen 0 1280x900x24" "${cmd[@]}")
fi

echo "== FieldPay (sandbox), data in $data"
exec "${cmd[@]}"
