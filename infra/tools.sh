#!/usr/bin/env bash
# Installs the local tooling into .tools/ (git-ignored): the AWS emulator, the template linters,
# the API fuzzer (schemathesis), and (on demand, `lambda`) cargo-lambda with zig for packaging.
# Each tool gets its own virtual environment because ministack pins botocore and aws-sam-cli
# wants another one. A venv is rebuilt only when it is missing or its pins changed, so this is
# cheap to call before every local run or CI job.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
PYTHON="${PYTHON:-python3}"

MINISTACK_PINS=("ministack[full]==1.5.33")
LINT_PINS=("cfn-lint==1.58.0" "aws-sam-cli==1.170.0")
LAMBDA_PINS=("cargo-lambda==1.9.2" "ziglang==0.15.2")
FUZZ_PINS=("schemathesis==4.32.5")

# adopt DIR PINS...: true when DIR's installed distributions match every pin (extras not checked).
adopt() {
  local dir="$1"; shift
  local frozen pin
  frozen="$("$dir/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null | tr 'A-Z_' 'a-z-')"
  for pin in "$@"; do
    pin="$(printf '%s' "${pin//\[*\]/}" | tr 'A-Z_' 'a-z-')"
    grep -qxF "$pin" <<<"$frozen" || return 1
  done
}

# ensure_venv NAME PINS...: (re)creates .tools/NAME unless its stamp already records these pins.
ensure_venv() {
  local name="$1"; shift
  local dir="$TOOLS/$name" stamp="$TOOLS/$name/.pins" want="$*"
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  # A venv made by hand with exactly these versions is adopted instead of rebuilt.
  if [[ -x "$dir/bin/python" && ! -f "$stamp" ]] && adopt "$dir" "$@"; then
    printf '%s' "$want" >"$stamp"
    return 0
  fi
  echo "installing $name: $want" >&2
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  # The log keeps pip's chatter out of the terminal but at hand when an install fails.
  if ! "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >"$TOOLS/$name-install.log" 2>&1; then
    cat "$TOOLS/$name-install.log" >&2
    rm -rf "$dir"
    return 1
  fi
  printf '%s' "$want" >"$stamp"
}

mkdir -p "$TOOLS"
case "${1:-all}" in
  ministack) ensure_venv ministack "${MINISTACK_PINS[@]}" ;;
  lint) ensure_venv lint "${LINT_PINS[@]}" ;;
  lambda) ensure_venv lambda "${LAMBDA_PINS[@]}" ;;
  fuzz) ensure_venv fuzz "${FUZZ_PINS[@]}" ;;
  all)
    ensure_venv ministack "${MINISTACK_PINS[@]}"
    ensure_venv lint "${LINT_PINS[@]}"
    ensure_venv fuzz "${FUZZ_PINS[@]}"
    ;;
  *) echo "usage: $0 [all|ministack|lint|fuzz|lambda]" >&2; exit 2 ;;
esac
