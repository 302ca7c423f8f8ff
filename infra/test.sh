#!/usr/bin/env bash
# Every check and every test, in one command (CI runs exactly this):
# formatting, clippy with warnings denied, the template linters, the Stripe test server's own
# suite, then the unit tests and the end-to-end tests together against a fresh emulator on its
# own port with the stack deployed from the same template.yaml and the same debug binaries, and
# last the API contract check (schemathesis) against that stack.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export GIGWIRE_EMULATOR_PORT="${GIGWIRE_TEST_EMULATOR_PORT:-4599}"
export GIGWIRE_STRIPE_PORT="${GIGWIRE_TEST_STRIPE_PORT:-12199}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check
step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "tools"
infra/tools.sh all
step "template lint"
.tools/lint/bin/cfn-lint template.yaml
SAM_CLI_TELEMETRY=0 .tools/lint/bin/sam validate --lint --region us-east-1 -t template.yaml
step "Stripe test server"
# The stateful Stripe-compatible server the payment tests will run against: its own suite
# (shapes against Stripe's, idempotency, PaymentIntents, refunds, signed webhooks, Connect).
python3 -m unittest discover -s infra/stripe_server/tests -t infra

step "build"
cargo build --workspace --bins --tests --locked

step "emulator + Stripe test server + deploy"
trap 'infra/emulator.sh stop >/dev/null 2>&1 || true; infra/stripe.sh stop >/dev/null 2>&1 || true' EXIT
infra/emulator.sh stop >/dev/null 2>&1 || true
infra/stripe.sh stop >/dev/null 2>&1 || true
rm -rf ".tools/emulator-$GIGWIRE_EMULATOR_PORT/state"
infra/emulator.sh start >/dev/null
STRIPE_URL="$(infra/stripe.sh start)"
ENV_FILE=".tools/emulator-$GIGWIRE_EMULATOR_PORT/test.env"
# Every test signs in from 127.0.0.1, so the per-IP code limit is raised for this stack only;
# --rotating deploys it mid key rotation (authorizers accept two keys) for the key tests;
# AdminEmails names the admins the sign-in test and the API fuzzer use; the booking functions
# call the Stripe test server, which delivers its webhooks to the stack.
.tools/ministack/bin/python infra/deploy_local.py --port "$GIGWIRE_EMULATOR_PORT" \
  --binaries "$TARGET/debug" --stack-name gigwire-test --param OtpRequestsPerIp=100000 --rotating \
  --param AdminEmails=first-admin@example.com,fuzz-admin@example.com \
  --param StripeApiBase="$STRIPE_URL" --stripe-key sk_test_gigwire_local \
  --stripe-webhook-secret whsec_test_secret --out "$ENV_FILE"
# shellcheck disable=SC1090
source "$ENV_FILE"

step "tests"
tests_ok=1
cargo test --workspace --locked --no-fail-fast || tests_ok=0

# Every operation of docs/openapi.json against the same stack, after the tests so the fuzzer's
# writes cannot disturb them; any disagreement between document and server fails the run.
step "API contract (schemathesis)"
fuzz_ok=1
.tools/fuzz/bin/python infra/fuzz/run.py --env-file "$ENV_FILE" --email fuzz-admin@example.com \
  --roles customer,provider,admin \
  || fuzz_ok=0
[[ "$tests_ok" == 1 && "$fuzz_ok" == 1 ]]
