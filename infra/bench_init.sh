#!/usr/bin/env bash
# Release-builds every function for the host and runs the cold-start benchmark on it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release --workspace --bins --locked
python3 infra/bench_init.py "$TARGET/release" "$@"
