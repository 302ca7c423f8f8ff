#!/usr/bin/env bash
# The whole stack, locally, in one command: installs the pinned emulator, builds every function,
# starts the emulator (state kept across restarts) and the Stripe-compatible test server, deploys
# template.yaml to it (Stripe's webhooks delivered to the stack), and prints the URLs. Read
# sign-in codes with infra/mailbox.py; stop with infra/emulator.sh stop and infra/stripe.sh stop.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export GIGWIRE_EMULATOR_PORT="${GIGWIRE_EMULATOR_PORT:-4566}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

infra/tools.sh ministack
# Same targets as the test command, so both reuse one build (features unify identically).
cargo build --workspace --bins --tests
GIGWIRE_PERSIST=1 infra/emulator.sh start >/dev/null
STRIPE_URL="$(infra/stripe.sh start)"
# GIGWIRE_ADMIN_EMAILS (comma-separated) names the addresses that sign in as admins.
.tools/ministack/bin/python infra/deploy_local.py --port "$GIGWIRE_EMULATOR_PORT" \
  --binaries "$TARGET/debug" --stack-name gigwire-local \
  --param StripeApiBase="$STRIPE_URL" --stripe-key sk_test_gigwire_local \
  --stripe-webhook-secret whsec_test_secret \
  ${GIGWIRE_ADMIN_EMAILS:+--param "AdminEmails=$GIGWIRE_ADMIN_EMAILS"}
cat <<MSG

Sign in:   curl -X POST \$GIGWIRE_HTTP_URL/auth/otp -d '{"email":"you@example.com"}'
Read code: .tools/ministack/bin/python infra/mailbox.py --to you@example.com
Env vars:  source .tools/emulator-$GIGWIRE_EMULATOR_PORT/gigwire-local.env
Stripe:    \$GIGWIRE_STRIPE_URL (test server; pay with pm_card_visa, see infra/stripe_server.py)
Stop:      infra/emulator.sh stop; infra/stripe.sh stop
MSG
