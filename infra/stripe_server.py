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
    POST /v1/payment_intents/{id}/confirm|capture|cancel (off_session: a card that needs 3-D
    Secure is declined 402 authentication_required)
    POST /v1/customers, GET /v1/customers/{id}
    POST/GET /v1/setup_intents, GET /v1/setup_intents/{id},
    POST /v1/setup_intents/{id}/confirm|cancel (a confirmed setup attaches the card to its customer)
    GET /v1/charges, GET/POST /v1/charges/{id}; GET /v1/payment_methods/{id}
    POST/GET /v1/refunds, GET/POST /v1/refunds/{id}
    GET /v1/events, GET /v1/events/{id}
    GET /v1/balance, GET /v1/balance_transactions, GET /v1/balance_transactions/{id}
    POST/GET /v1/accounts, GET/POST /v1/accounts/{id}, GET /v1/account; POST /v1/account_links
    POST/GET /v1/transfers, GET/POST /v1/transfers/{id},
    POST/GET /v1/transfers/{id}/reversals, GET /v1/transfers/{id}/reversals/{id}
    POST/GET /v1/payouts, GET /v1/payouts/{id}, POST /v1/payouts/{id}/cancel
    GET /v1/disputes, GET/POST /v1/disputes/{id}, POST /v1/disputes/{id}/close
Idempotency keys (POST) as Stripe keeps them: once the endpoint began executing, its answer is
stored, errors included (402 decline, 400 refusal, 500), and replayed with `Idempotent-Replayed:
true` for 24 h of server clock (then the key runs again). A refusal before execution leaves the
key unused: 401, 403 Stripe-Account, parameter validation, 429, 400 idempotency_error for other
parameters, and 409 idempotency_error `idempotency_key_in_use` while the key's first request is
still executing (see /_test/stalls).
Test payment methods: pm_card_visa, pm_card_mastercard, pm_card_amex, pm_card_visa_debit,
pm_card_bypassPending (funds available at once), pm_card_chargeDeclined (also
pm_card_visa_chargeDeclined…), …InsufficientFunds, …LostCard, …StolenCard, …ExpiredCard,
…IncorrectCvc, …ProcessingError; pm_card_authenticationRequired (also
pm_card_threeDSecure2Required: 3-D Secure, `requires_action` until /_test/…/authenticate). Card
funds stay pending two days (advance the clock).

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
                                              offset, queued declines, failures and stalls
                                              (webhook endpoints and delivery settings stay);
                                              stalled requests answer 500 without executing
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
    POST /_test/payment_intents/{id}/processing
                                              {"payment_method"? (pm_card_visa, if it has none)}
                                              -> intent, unconfirmed before, now `processing`:
                                              its confirm, capture and cancel are refused (400
                                              payment_intent_unexpected_state)
    POST /_test/payment_intents/{id}/processed
                                              {} -> intent: a `processing` intent's payment goes
                                              through as a confirmation would (succeeded, or
                                              requires_capture), with the same events
    POST /_test/failures                      {"method"?, "path"?, "params"?, "times": 1, "error":
                                              "api_error" | "rate_limit", "applied": false} ->
                                              {"failures"}: the next `times` matching requests
                                              fail: api_error 500 once executing, stored under
                                              the idempotency key (changing nothing, or with
                                              "applied" after the change is made); rate_limit
                                              429 before executing, not stored. A rule matches
                                              any method / path without them; "path" is a prefix
                                              of whole segments ("/v1/refunds" covers
                                              /v1/refunds/re_1); "params" {name: string} must
                                              be top-level form parameters of the request
    GET  /_test/failures                      {"failures": [rules not used up]}
    POST /_test/stalls                        {"method"?, "path"?, "params"?, "times": 1,
                                              "seconds": 10} -> {"stalls", "stalled"}: the next
                                              matching requests wait up to `seconds` (or until
                                              released) before executing, other requests going
                                              on, their idempotency key in progress (409)
    GET  /_test/stalls                        {"stalls": [rules], "stalled": [{"method", "path",
                                              "idempotency_key", "request_id"}]}
    POST /_test/stalls/wait                   {"count": 1, "timeout": 10} -> {"reached": bool,
                                              "stalls", "stalled"} once `count` requests stall
    POST /_test/stalls/release                stalled requests execute now -> {"released": n}
    POST /_test/accounts/{id}/onboarding      {"charges_enabled", "payouts_enabled",
                                              "details_submitted" (all default true),
                                              "currently_due"?} -> account; emits account.updated
    GET  /_test/onboarding/{token}            where account links point: completes onboarding,
                                              302 to return_url (refresh_url once used/expired)
    POST /_test/payouts/{id}/fail             {"failure_code"?, "failure_message"?} -> payout
    POST /_test/payouts/{id}/paid             the bank accepts it now (payout.paid) -> payout
    POST /_test/charges/{id}/dispute          {"amount"?, "reason"?} -> dispute (needs_response);
                                              emits charge.dispute.created, .funds_withdrawn
    POST /_test/disputes/{id}/close           {"outcome": "won" | "lost"} -> dispute; emits
                                              charge.dispute.closed (won: .funds_reinstated)
    POST /_test/payment_intents/{id}/authenticate
    POST /_test/setup_intents/{id}/authenticate
                                              {"outcome"?: "succeed" | "fail"} -> intent: a
                                              3-D Secure challenge passed or failed
    GET  /_test/3ds/{id}[?outcome=fail]       the same, where next_action's stripe_js points
"""

import os
import sys

# The code lives in the stripe_server package beside this script.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stripe_server.server import main  # noqa: E402

if __name__ == "__main__":
    main()
