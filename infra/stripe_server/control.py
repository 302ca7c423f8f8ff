"""Test controls under `/_test/…`: what a test needs that Stripe's API does not offer.

They take and answer JSON, need no API key, and live under a prefix Stripe's API never uses. The
list, with bodies, is in the entry script's docstring (infra/stripe_server.py).
"""

import json
from urllib.parse import parse_qs

from . import connect
from .api import Context, Router
from .app import Response, json_response
from .payments import DECLINES
from .store import PLATFORM
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


@_route("POST", "/payouts/{payout_id}/fail")
def fail_payout(app, request, query, base_url, payout_id):
    """Make a payout fail as its bank would: {"failure_code"?, "failure_message"?}."""
    with app.state.lock:
        for account, ledger in app.state.ledgers.items():
            payout = ledger.get("payout", payout_id)
            if payout is not None:
                break
        else:
            raise ControlError(f"no such payout: {payout_id!r}", status=404)
        if payout["status"] in ("failed", "canceled"):
            raise ControlError(f"payout {payout_id} is already {payout['status']}")
        return connect.fail_payout(
            Context(app, account), payout,
            _string(request, "failure_code", required=False) or "account_closed",
            _string(request, "failure_message", required=False)
            or "The bank account has been closed.")
