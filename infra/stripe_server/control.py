"""Test controls under `/_test/…`: what a test needs that Stripe's API does not offer.

They take and answer JSON, need no API key, and live under a prefix Stripe's API never uses. The
list, with bodies, is in the entry script's docstring (infra/stripe_server.py).

Besides the clock, webhooks, declines, onboarding and payouts, they reproduce what Stripe does
around idempotency keys, which a test cannot provoke through the API alone: `/failures` makes the
next matching API requests fail (a 500 `api_error` once execution began, stored under the key
and replayed like any answer; or a 429 before execution, not stored), `/stalls` makes them wait
before executing with their key in progress (so a concurrent request with that key gets 409
`idempotency_key_in_use`), and `/payment_intents/{id}/processing` leaves an intent `processing` (until
`/payment_intents/{id}/processed` lets its payment go through),
whose cancel Stripe refuses. A rule matches by method, whole-segment path prefix and top-level
form parameters, so a test sharing the server with others can aim it at its own objects.

They also play the parts outside Stripe that a payment can wait on: the customer answering a
3-D Secure challenge (`/payment_intents/{id}/authenticate`, or visiting `/3ds/{id}`, where the
intent's next_action points) and the cardholder's bank disputing a charge
(`/charges/{id}/dispute`) then deciding the dispute (`/disputes/{id}/close`).
"""

import json
from urllib.parse import parse_qs

from . import connect, customers, disputes, payments
from .api import Context, Router
from .app import Response, json_response
from .errors import StripeError
from .payments import DECLINES, TEST_CARDS, UNCONFIRMED
from .store import PLATFORM, RequestRule
from .webhooks import SIGNATURES, STALE_SECONDS, Endpoint


class ControlError(Exception):
    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


_ROUTES = Router()


def _route(method, pattern):
    return _ROUTES.route(method, "/_test" + pattern)


def handle(app, method, path, query, body, base_url):
    handler, path_ids = _ROUTES.match(method, path)
    try:
        if handler is None:
            raise ControlError(f"no test control {method} {path}", status=404)
        try:
            request = json.loads(body or b"{}")
        except ValueError as error:
            raise ControlError(f"the body is not JSON: {error}")
        if not isinstance(request, dict):
            raise ControlError("the body must be a JSON object")
        result = handler(app, request, parse_qs(query), base_url, **path_ids)
    except ControlError as error:
        return json_response(error.status, {"error": {"message": str(error)}})
    return result if isinstance(result, Response) else json_response(200, result)


def _number(request, name, default, minimum=0):
    value = request.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ControlError(f"{name} must be a number >= {minimum}")
    return value


def _choice(request, name, default, choices):
    value = request.get(name, default)
    if value not in choices:
        raise ControlError(f"{name} must be one of {', '.join(choices)}")
    return value


def _string(request, name, required=True):
    value = request.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError(f"{name} must be a non-empty string")
    return value


@_route("GET", "/health")
def health(app, request, query, base_url):
    return {"status": "ok", "now": app.state.now()}


@_route("POST", "/reset")
def reset(app, request, query, base_url):
    app.reset()
    return {"reset": True, "now": app.state.now()}


# --- the clock ---

@_route("GET", "/clock")
def clock(app, request, query, base_url):
    return {"now": app.state.now()}


@_route("POST", "/clock/advance")
def advance_clock(app, request, query, base_url):
    now = app.state.advance(_number(request, "seconds", None))
    app.settle()
    return {"now": now}


# --- webhooks ---

@_route("GET", "/webhooks")
def webhook_settings(app, request, query, base_url):
    return app.webhooks.settings()


@_route("POST", "/webhooks")
def configure_webhooks(app, request, query, base_url):
    endpoints = request.get("endpoints")
    if endpoints is None and "url" in request:
        endpoints = [request]
    if endpoints is not None:
        if not isinstance(endpoints, list):
            raise ControlError("endpoints must be a list")
        endpoints = [Endpoint(_string(e, "url"),
                              _string(e, "secret", False) or app.webhooks.default_secret)
                     for e in endpoints]
    app.webhooks.configure(
        endpoints,
        max_attempts=int(_number(request, "max_attempts", 1, 1)) if "max_attempts" in request
        else None,
        retry_base=_number(request, "retry_base", 0) if "retry_base" in request else None)
    return app.webhooks.settings()


@_route("POST", "/webhooks/pause")
def pause_webhooks(app, request, query, base_url):
    app.webhooks.set_paused(True)
    return app.webhooks.settings()


@_route("POST", "/webhooks/resume")
def resume_webhooks(app, request, query, base_url):
    app.webhooks.set_paused(False)
    return app.webhooks.settings()


@_route("POST", "/webhooks/wait")
def wait_for_webhooks(app, request, query, base_url):
    return {"idle": app.webhooks.wait_idle(_number(request, "timeout", 10))}


def _event_ids(app, request):
    ids = request.get("event_ids")
    if ids is None and "event_id" in request:
        ids = [request["event_id"]]
    if not isinstance(ids, list) or not ids:
        raise ControlError("event_ids must be a non-empty list")
    for event_id in ids:
        if app.webhooks.signed(event_id) is None:
            raise ControlError(f"no such event: {event_id!r}", status=404)
    return ids


@_route("POST", "/webhooks/deliver")
def deliver_webhooks(app, request, query, base_url):
    ids = _event_ids(app, request)
    url = _string(request, "url", required=False)
    if url is None and not app.webhooks.endpoints:
        raise ControlError("no webhook endpoint is configured and no url was given")
    attempts = app.webhooks.deliver_now(
        ids, times=int(_number(request, "times", 1, 1)),
        concurrent=bool(request.get("concurrent", False)),
        signature=_choice(request, "signature", "valid", SIGNATURES),
        stale_seconds=_number(request, "stale_seconds", STALE_SECONDS), url=url)
    return {"attempts": attempts}


@_route("POST", "/webhooks/sign")
def sign_webhook(app, request, query, base_url):
    event_id = _event_ids(app, request)[0]
    payload, headers = app.webhooks.signed(
        event_id, _string(request, "secret", required=False),
        _choice(request, "signature", "valid", SIGNATURES),
        _number(request, "stale_seconds", STALE_SECONDS))
    return {"payload": payload.decode(), "headers": headers}


@_route("GET", "/webhooks/attempts")
def webhook_attempts(app, request, query, base_url):
    return {"attempts": app.webhooks.attempts(query.get("event_id", [None])[0])}


# --- payments ---

@_route("POST", "/declines")
def queue_decline(app, request, query, base_url):
    """Make the next confirmation of one intent (or of any, without payment_intent) decline."""
    intent = _string(request, "payment_intent", required=False)
    code = _choice(request, "decline_code", "generic_decline", tuple(DECLINES))
    with app.state.lock:
        app.state.forced_declines[intent] = code
    return {"payment_intent": intent, "decline_code": code}


@_route("POST", "/payment_intents/{pi_id}/processing")
def start_processing(app, request, query, base_url, pi_id):
    """Leave an unconfirmed intent `processing` (paid by `payment_method`, default pm_card_visa,
    when it has none): its confirm, capture and cancel are then refused."""
    payment_method = _choice(request, "payment_method", "pm_card_visa", tuple(TEST_CARDS))
    with app.state.lock:
        account, intent = _find(app, "payment_intent", pi_id)
        if intent["status"] not in UNCONFIRMED:
            raise ControlError(f"payment intent {pi_id} is {intent['status']}; only one with a "
                               f"status of {', '.join(UNCONFIRMED)} can start processing")
        return payments.start_processing(Context(app, account), intent, payment_method)


@_route("POST", "/payment_intents/{pi_id}/processed")
def finish_processing(app, request, query, base_url, pi_id):
    """End a `processing` intent's wait: its payment goes through (succeeded, or authorized for
    a manual capture), with the events a confirmation emits."""
    with app.state.lock:
        account, intent = _find(app, "payment_intent", pi_id)
        if intent["status"] != "processing":
            raise ControlError(f"payment intent {pi_id} is {intent['status']}, not processing")
        return payments.finish_processing(Context(app, account), intent)


def _authenticate(app, intent_id, outcome):
    """A PaymentIntent's (`pi_…`) or a SetupIntent's (`seti_…`) 3-D Secure challenge answered."""
    kind, module = (("setup_intent", customers) if intent_id.startswith("seti_")
                    else ("payment_intent", payments))
    with app.state.lock:
        account, intent = _find(app, kind, intent_id)
        if intent["status"] != "requires_action":
            label = kind.replace("_", " ")
            raise ControlError(f"{label} {intent_id} is {intent['status']}, not requires_action")
        try:
            return module.authenticate(Context(app, account), intent, outcome == "succeed")
        except StripeError as error:
            if error.status != 402:
                raise
            # Authenticated, then declined by the card network: the intent tells it.
            return intent


_OUTCOMES = ("succeed", "fail")


@_route("POST", "/setup_intents/{pi_id}/authenticate")
@_route("POST", "/payment_intents/{pi_id}/authenticate")
def authenticate(app, request, query, base_url, pi_id):
    """The customer's answer to a `requires_action` intent's 3-D Secure challenge: {"outcome":
    "succeed" (default) | "fail"}. Passed, the payment goes on as a confirmation's would;
    failed, the intent waits for another payment method (payment_intent_authentication_failure)."""
    return _authenticate(app, pi_id, _choice(request, "outcome", "succeed", _OUTCOMES))


@_route("GET", "/3ds/{pi_id}")
def visit_three_d_secure(app, request, query, base_url, pi_id):
    """Where a `requires_action` intent's next_action points: visiting it passes the challenge
    (`?outcome=fail` fails it), as the authenticate control does."""
    outcome = {"outcome": query.get("outcome", ["succeed"])[0]}
    return _authenticate(app, pi_id, _choice(outcome, "outcome", "succeed", _OUTCOMES))


def _find(app, kind, object_id):
    """(account, object) of an object on any account: controls take no Stripe-Account."""
    for account, ledger in app.state.ledgers.items():
        obj = ledger.get(kind, object_id)
        if obj is not None:
            return account, obj
    raise ControlError(f"no such {kind}: {object_id!r}", status=404)


# --- disputes ---

@_route("POST", "/charges/{charge_id}/dispute")
def open_dispute(app, request, query, base_url, charge_id):
    """The cardholder's bank disputes a captured card charge: {"amount"? (what refunds left of
    it), "reason"? ("fraudulent")} -> the dispute, needs_response, on the charge's account; the
    amount and the 15.00 dispute fee leave that balance."""
    reason = _choice(request, "reason", "fraudulent", disputes.REASONS)
    with app.state.lock:
        account, charge = _find(app, "charge", charge_id)
        paid_by = (charge["payment_method_details"] or {}).get("type")
        if charge["status"] != "succeeded" or not charge["captured"] or paid_by != "card":
            raise ControlError(f"charge {charge_id} is not a succeeded, captured card payment")
        ctx = Context(app, account)
        already = disputes.open_dispute_of(ctx.ledger, charge_id)
        if already is not None:
            raise ControlError(f"charge {charge_id} already has an open dispute: {already['id']}")
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            raise ControlError(f"charge {charge_id} is refunded in full: nothing to dispute")
        amount = request.get("amount", left)
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= left:
            raise ControlError(f"amount must be an integer from 1 to {left}, what refunds left "
                               "of the charge")
        return disputes.open_dispute(ctx, charge, amount, reason)


@_route("POST", "/disputes/{dispute_id}/close")
def close_dispute(app, request, query, base_url, dispute_id):
    """The bank decides an open dispute: {"outcome": "won" | "lost"} -> the dispute. Won, the
    amount and the fee come back to the balance."""
    outcome = _choice(request, "outcome", None, ("won", "lost"))
    with app.state.lock:
        account, dispute = _find(app, "dispute", dispute_id)
        if dispute["status"] not in disputes.OPEN:
            raise ControlError(f"dispute {dispute_id} is already closed: {dispute['status']}")
        return disputes.close(Context(app, account), dispute, won=outcome == "won")


# --- failures and stalls of API requests ---

def _request_rule(request, **settings):
    """A RequestRule from a control's body: method, path, params and times, all optional."""
    method = _string(request, "method", required=False)
    method = method.upper() if method else None
    if method not in (None, "GET", "POST", "DELETE"):
        raise ControlError("method must be one of GET, POST, DELETE")
    path = _string(request, "path", required=False)
    if path is not None and not path.startswith("/v1/"):
        raise ControlError("path must be an API path, starting with /v1/")
    params = request.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise ControlError("params must be an object of parameter names to string values")
    return RequestRule(method=method, path=path.rstrip("/") if path else None, params=params,
                       times=int(_number(request, "times", 1, 1)), **settings)


def _rules(rules):
    return [rule.describe() for rule in rules]


@_route("POST", "/failures")
def queue_failure(app, request, query, base_url):
    """Make the next `times` matching API requests fail: "api_error" (500 once executing,
    stored under the idempotency key; with "applied" the endpoint's change is made first) or
    "rate_limit" (429 before executing, not stored)."""
    error = _choice(request, "error", "api_error", ("api_error", "rate_limit"))
    applied = request.get("applied", False)
    if not isinstance(applied, bool) or (applied and error != "api_error"):
        raise ControlError("applied is a boolean, for an api_error only")
    rule = _request_rule(request, error=error, applied=applied)
    with app.state.lock:
        app.state.failures.append(rule)
        return {"failures": _rules(app.state.failures)}


@_route("GET", "/failures")
def failures(app, request, query, base_url):
    with app.state.lock:
        return {"failures": _rules(app.state.failures)}


def _stalls(app):
    return {"stalls": _rules(app.state.stalls),
            "stalled": [stalled.describe() for stalled in app.state.stalled]}


@_route("POST", "/stalls")
def queue_stall(app, request, query, base_url):
    """Make the next `times` matching API requests wait up to `seconds` (10) before executing,
    their idempotency key in progress, until released."""
    rule = _request_rule(request, seconds=_number(request, "seconds", 10))
    with app.state.lock:
        app.state.stalls.append(rule)
        return _stalls(app)


@_route("GET", "/stalls")
def stalls(app, request, query, base_url):
    with app.state.lock:
        return _stalls(app)


@_route("POST", "/stalls/wait")
def wait_for_stalls(app, request, query, base_url):
    """Wait until `count` (1) requests are stalled, at most `timeout` (10) seconds."""
    count = int(_number(request, "count", 1, 1))
    timeout = _number(request, "timeout", 10)
    with app.state.stalls_changed:
        reached = app.state.stalls_changed.wait_for(lambda: len(app.state.stalled) >= count,
                                                     timeout)
        return {"reached": reached, **_stalls(app)}


@_route("POST", "/stalls/release")
def release_stalls(app, request, query, base_url):
    """Let every stalled request execute now."""
    return {"released": app.state.release_stalled()}


# --- connect ---

@_route("POST", "/accounts/{account_id}/onboarding")
def set_account_onboarding(app, request, query, base_url, account_id):
    """Complete a connected account's onboarding, or set its flags: charges_enabled,
    payouts_enabled, details_submitted (all default true) and currently_due."""
    flags = {name: request.get(name, True)
             for name in ("charges_enabled", "payouts_enabled", "details_submitted")}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise ControlError("charges_enabled, payouts_enabled and details_submitted are booleans")
    due = request.get("currently_due")
    if due is not None and not (isinstance(due, list) and all(isinstance(d, str) for d in due)):
        raise ControlError("currently_due must be a list of requirement names")
    with app.state.lock:
        ctx = Context(app, PLATFORM, base_url=base_url)
        account = ctx.platform.get("account", account_id)
        if account is None:
            raise ControlError(f"no such account: {account_id!r}", status=404)
        return connect.set_onboarding(ctx, account, currently_due=due, **flags)


@_route("GET", "/onboarding/{token}")
def visit_onboarding_link(app, request, query, base_url, token):
    """Where an account link points: completes onboarding and redirects like Stripe's page."""
    with app.state.lock:
        ctx = Context(app, PLATFORM, base_url=base_url)
        completed, url = connect.visit_account_link(ctx, token)
    if url:
        return Response(302, b"", {"Location": url})
    if completed:
        return {"onboarding": "complete"}
    raise ControlError("this account link does not exist, was used or has expired", status=404)


@_route("POST", "/payouts/{payout_id}/paid")
def pay_payout(app, request, query, base_url, payout_id):
    """The bank accepts a pending payout now (`payout.paid`), without moving the clock (which
    would date every later webhook signature in the future)."""
    with app.state.lock:
        account, payout = _find(app, "payout", payout_id)
        if payout["status"] not in ("pending", "in_transit"):
            raise ControlError(f"payout {payout_id} is {payout['status']}")
        return connect.pay_payout(Context(app, account), payout)


@_route("POST", "/payouts/{payout_id}/fail")
def fail_payout(app, request, query, base_url, payout_id):
    """Make a payout fail as its bank would: {"failure_code"?, "failure_message"?}."""
    with app.state.lock:
        account, payout = _find(app, "payout", payout_id)
        if payout["status"] in ("failed", "canceled"):
            raise ControlError(f"payout {payout_id} is already {payout['status']}")
        return connect.fail_payout(
            Context(app, account), payout,
            _string(request, "failure_code", required=False) or "account_closed",
            _string(request, "failure_message", required=False)
            or "The bank account has been closed.")
