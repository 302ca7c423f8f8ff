"""The API request pipeline: authentication, account, parameters, idempotency, `expand`.

`App.handle_api` answers one request to Stripe's API (`/v1/…`) the way api.stripe.com does:
it requires a test-mode secret key, acts on the account named by `Stripe-Account`, replays the
stored response for a repeated `Idempotency-Key` (and refuses the key with other parameters),
runs the endpoint, expands what `expand[]` asks for and answers Stripe's JSON. The whole request
runs under the state lock, so requests are atomic and concurrent retries of one idempotency key
see either nothing or the finished first response.
"""

import base64
import json
import logging
import re
from dataclasses import dataclass, field

# events and payments are imported for their routes, which register themselves on ROUTES.
from . import balances, connect, events, payments, shapes  # noqa: F401
from .api import ROUTES, Context, expand
from .errors import (StripeError, idempotency_mismatch, invalid_api_key, invalid_request,
                     no_api_key, unrecognized_url)
from .forms import Params, parse
from .store import PLATFORM, SavedResponse, State, new_id
from .webhooks import DEFAULT_SECRET, Dispatcher

log = logging.getLogger("stripe_server")

DEFAULT_API_VERSION = "2025-04-30.basil"
_TEST_KEY = re.compile(r"^(sk|rk)_test_\w+$")
# Responses kept for an idempotency key: the endpoint ran (succeeded, or a card was declined).
# Like Stripe, a request refused before it ran (validation) leaves the key unused.
_REPLAYABLE = (200, 402)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def json_response(status, obj, headers=None):
    body = (json.dumps(obj, indent=2) + "\n").encode()
    return Response(status, body, {"Content-Type": "application/json", **(headers or {})})


class App:
    def __init__(self, webhook_endpoints=(), max_attempts=5, retry_base=0.5,
                 webhook_secret=DEFAULT_SECRET, api_version=DEFAULT_API_VERSION):
        self.state = State()
        # Events not caused by a request (test controls, the passing of time) are rendered in
        # the version the client last asked for, so they match what its SDK expects.
        self.api_version = api_version
        self.webhooks = Dispatcher(self.state, webhook_endpoints, max_attempts, retry_base,
                                   webhook_secret)
        self.platform_account_id = new_id("acct_", 16)
        self.platform_bank_account = new_id("ba_")
        self.payment_method_configuration = new_id("pmc_")
        self.started = self.state.now()

    def reset(self):
        with self.state.lock:
            self.state.reset()
            self.webhooks.reset()

    def settle(self):
        """Apply what the passing of (test clock) time does: funds available, payouts paid."""
        with self.state.lock:
            balances.settle(self.state)
            connect.settle(self)

    def platform_account(self):
        return shapes.account(
            self.platform_account_id, self.started, type="standard",
            controller={"is_controller": False, "type": "account"}, charges_enabled=True,
            payouts_enabled=True, details_submitted=True,
            requirements=shapes.account_requirements([]))

    def handle_api(self, method, path, query, headers, body, base_url):
        request_id = new_id("req_", 14)
        answer = {"Request-Id": request_id}
        try:
            self._authenticate(headers.get("Authorization"))
            version = headers.get("Stripe-Version")
            if version:
                self.api_version = version
            answer["Stripe-Version"] = version or self.api_version
            key = headers.get("Idempotency-Key") if method == "POST" else None
            if key:
                answer["Idempotency-Key"] = key
            data = parse(body.decode(errors="replace") if method == "POST" else query)
            with self.state.lock:
                account = self._account(headers.get("Stripe-Account"))
                ctx = Context(self, account, request_id, key, version, base_url)
                if key:
                    replay = self._replay(account, key, method, path, data, answer)
                    if replay:
                        return replay
                self.settle()
                response = self._run(ctx, method, path, data, answer)
                if key and response.status in _REPLAYABLE:
                    self.state.save_response(account, key, SavedResponse(
                        _fingerprint(method, path, data), response.status, response.body,
                        request_id, self.state.now()))
                return response
        except StripeError as error:
            return json_response(error.status, error.body(), answer)

    def _authenticate(self, authorization):
        if not authorization:
            raise no_api_key()
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "basic":  # curl -u sk_test_…: sends the key as the user name
            credential = base64.b64decode(credential).decode(errors="replace").partition(":")[0]
        elif scheme.lower() != "bearer":
            raise no_api_key()
        if not _TEST_KEY.match(credential.strip()):
            raise invalid_api_key(credential.strip())

    def _account(self, header):
        if not header:
            return PLATFORM
        if not self.state.account_exists(header):
            raise invalid_request(
                f"The provided key does not have access to account '{header}' (or that account "
                "does not exist). Application access may have been revoked.",
                code="account_invalid", status=403)
        return header

    def _replay(self, account, key, method, path, data, answer):
        saved = self.state.saved_response(account, key)
        if saved is None:
            return None
        if saved.fingerprint != _fingerprint(method, path, data):
            raise idempotency_mismatch(key)
        return Response(saved.status, saved.body, {
            "Content-Type": "application/json", **answer, "Idempotent-Replayed": "true",
            "Original-Request": saved.request_id})

    def _run(self, ctx, method, path, data, answer):
        handler, path_ids = ROUTES.match(method, path)
        if handler is None:
            raise unrecognized_url(method, path)
        params = Params(data)
        try:
            obj = handler(ctx, params, **path_ids)
            obj = expand(ctx, obj, params.expand())
        except StripeError as error:
            return json_response(error.status, error.body(), answer)
        except Exception:  # a bug here must not look like a Stripe answer the client trusts
            log.exception("%s %s failed", method, path)
            return json_response(500, {"error": {
                "type": "api_error", "message": "An unknown error occurred."}}, answer)
        if "Idempotency-Key" in answer:
            answer = {**answer, "Idempotent-Replayed": "false"}
        return json_response(200, obj, answer)


def _fingerprint(method, path, data):
    return json.dumps([method, path, data], sort_keys=True)

