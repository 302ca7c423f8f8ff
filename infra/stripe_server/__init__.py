"""A stateful Stripe-compatible test server; see infra/stripe_server.py for how to run and use it.

Layout:
  server.py    HTTP server and command line
  app.py       the API request pipeline: API key, Stripe-Account, idempotency keys, expand[]
  api.py       request context, routing, lists and expand (the glue every endpoint plugs into)
  forms.py     bracket-notation form parameters, typed and validated like Stripe's
  errors.py    Stripe's error bodies and status codes
  store.py     all state: per-account ledgers, idempotency keys, the advanceable clock
  shapes.py    the exact JSON shape of every object returned
  payments.py  PaymentMethods, PaymentIntents (3-D Secure included), Charges, Refunds
  disputes.py  Disputes: opened and decided by test controls, answered through the API
  connect.py   connected accounts, account links, transfers, reversals, payouts
  balances.py  balance transactions, balances, pending funds becoming available
  events.py    Events, recorded for every change
  webhooks.py  signed, retried webhook delivery and its test tools
  control.py   the /_test/ controls (also the customer's 3-D Secure answer, the bank's disputes)
"""
