#!/usr/bin/env bash
# Sets up everything and starts FieldPay in sandbox mode: the ARS server on
# http://127.0.0.1:8640 with demo data, the SMS sink, the sandbox card network and the
# sandbox phone at http://127.0.0.1:8640/sandbox/phone. Data lives in ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p fieldpay-server
bin="${CARGO_TARGET_DIR:-target}/release/fieldpay-server"
echo "== FieldPay sandbox: http://127.0.0.1:8640  (sandbox phone: http://127.0.0.1:8640/sandbox/phone)"
exec "$bin" serve --data "${FIELDPAY_DATA:-./data}" "$@"
