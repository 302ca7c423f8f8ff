#!/usr/bin/env bash
# Packages every function for AWS Lambda on Graviton: target/lambda/<function>/bootstrap, which
# template.yaml's CodeUri points at (then `sam deploy`). Installs the pinned cargo-lambda and zig
# into .tools/ and the aarch64 standard library through rustup. Extra arguments go to
# `cargo lambda build` (e.g. `--bin get-me`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
infra/tools.sh lambda
rustup target add aarch64-unknown-linux-gnu >/dev/null
# cargo-lambda finds zig on PATH; both live in the venv.
PATH="$ROOT/.tools/lambda/bin:$PATH" cargo lambda build --release --arm64 "$@"
