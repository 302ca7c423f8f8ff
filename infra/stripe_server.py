#!/usr/bin/env python3
"""Stripe-compatible test server for local runs and tests (Python standard library only).

The production Stripe client (async-stripe) talks to it over HTTP exactly as to api.stripe.com:
point it here with `ClientBuilder::new(key).url("http://127.0.0.1:12111/")`, use any `sk_test_…`
key, and have webhooks delivered to the stack's webhook URL. No offline server does this for us:
localstripe has no Connect, rejects `transfer_group` and lacks fields async-stripe requires.

Run:
    infra/stripe.sh start              # background, port GIGWIRE_STRIPE_PORT (default 12111)
    python3 infra/stripe_server.py --port 12111 --webhook-url http://127.0.0.1:3000/webhooks/stripe
Options (and environment): --port (GIGWIRE_STRIPE_PORT), --webhook-url, repeatable
(GIGWIRE_STRIPE_WEBHOOK_URL), --webhook-secret (GIGWIRE_STRIPE_WEBHOOK_SECRET, default
whsec_test_secret), --webhook-attempts (5), --webhook-retry-base (0.5 s), --api-version, --quiet.
Tests: python3 -m unittest discover -s infra/stripe_server/tests -t infra

Stripe API (form-encoded bodies with bracket notation, `expand[]`, `Idempotency-Key`,
`Stripe-Account`, `Stripe-Version`; Stripe's JSON objects and errors):
    POST/GET /v1/payment_intents, GET/POST /v1/payment_intents/{id},
    POST /v1/payment_intents/{id}/confirm|capture|cancel
    GET /v1/charges, GET/POST /v1/charges/{id}; GET /v1/payment_methods/{id}
    POST/GET /v1/refunds, GET/POST /v1/refunds/{id}
    GET /v1/events, GET /v1/events/{id}
    GET /v1/balance, GET /v1/balance_transactions, GET /v1/balance_transactions/{id}
    POST/GET /v1/accounts, GET/POST /v1/accounts/{id}, GET /v1/account; POST /v1/account_links
    POST/GET /v1/transfers, GET/POST /v1/transfers/{id},
    POST/GET /v1/transfers/{id}/reversals, GET /v1/transfers/{id}/reversals/{id}
    POST/GET /v1/payouts, GET /v1/payouts/{id}, POST /v1/payouts/{id}/cancel
Test payment methods: pm_card_visa, pm_card_mastercard, pm_card_amex, pm_card_visa_debit,
pm_card_bypassPending (funds available at once), pm_card_chargeDeclined (also
pm_card_visa_chargeDeclined…), …InsufficientFunds, …LostCard, …StolenCard, …ExpiredCard,
…IncorrectCvc, …ProcessingError. Card funds stay pending two days (advance the clock).

Webhooks: each event is POSTed to every endpoint with `Stripe-Signature: t=<unix>,v1=<hex
HMAC-SHA256 of "t.payload">`, by one background thread in creation order, retried on a non-2xx
answer or a connection error after 0.5 s, 1 s, 2 s… (--webhook-retry-base) up to
--webhook-attempts attempts; `pending_webhooks` counts endpoints yet to accept an event. Events
recorded while no endpoint is configured are kept but not sent (send them with
/_test/webhooks/deliver). `t` is the server clock: after advancing it past 300 s, verify with
the clock moved too or expect a stale signature.

Test controls (JSON in and out, no API key):
    GET  /_test/health                        {"status": "ok", "now"}
    POST /_test/reset                         forget all objects, events, keys, deliveries, clock
                                              offset and queued declines (webhook endpoints and
                                              delivery settings stay)
    GET  /_test/clock                         {"now"}
    POST /_test/clock/advance                 {"seconds": N} -> {"now"}; funds and payouts settle
    GET  /_test/webhooks                      endpoints, paused, max_attempts, retry_base, queued
    POST /_test/webhooks                      {"endpoints": [{"url", "secret"?}]} or {"url",
                                              "secret"?} replaces the endpoints; optional
                                              "max_attempts", "retry_base"
    POST /_test/webhooks/pause | resume       stop / restart automatic delivery (events queue)
    POST /_test/webhooks/wait                 {"timeout": 10} -> {"idle": bool}, when nothing is
                                              queued or in flight
    POST /_test/webhooks/deliver              {"event_ids": [...] (sent in this order), "times": 1,
                                              "concurrent": false, "signature": "valid" | "forged"
                                              | "stale", "stale_seconds": 600, "url"?} -> delivers
                                              now, no retries -> {"attempts": [...]}
    POST /_test/webhooks/sign                 {"event_id", "secret"?, "signature"?} ->
                                              {"payload", "headers"} to send yourself
    GET  /_test/webhooks/attempts?event_id=   {"attempts": [{"event_id", "event_type", "url",
                                              "attempt", "status", "error", "ok", "automatic",
                                              "signature", "delivered_at"}]}
    POST /_test/declines                      {"payment_intent"?, "decline_code"?
                                              ("generic_decline")}: the next confirmation of that
                                              intent (of any, without one) is declined
    POST /_test/accounts/{id}/onboarding      {"charges_enabled", "payouts_enabled",
                                              "details_submitted" (all default true),
                                              "currently_due"?} -> account; emits account.updated
    GET  /_test/onboarding/{token}            where account links point: completes onboarding,
                                              302 to return_url (refresh_url once used/expired)
    POST /_test/payouts/{id}/fail             {"failure_code"?, "failure_message"?} -> payout
"""

import os
import sys

# The code lives in the stripe_server package beside this script.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stripe_server.server import main  # noqa: E402

if __name__ == "__main__":
    main()
