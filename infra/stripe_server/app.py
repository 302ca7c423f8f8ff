"""The API request pipeline: authentication, account, parameters, idempotency, `expand`.

`App.handle_api` answers one request to Stripe's API (`/v1/…`) the way api.stripe.com does:
it requires a test-mode secret key, acts on the account named by `Stripe-Account`, replays the
stored response for a repeated `Idempotency-Key` (and refuses the key with other parameters),
runs the endpoint, expands what `expand[]` asks for and answers Stripe's JSON.

Idempotency keys behave as Stripe documents them. Once the endpoint has begun executing, its
answer is stored under the key whatever it is (the object, a 402 decline, a 400 refusal that
depends on the objects' state, a 500) and every later request with the key and the same
parameters gets it again with `Idempotent-Replayed: true`, for 24 hours of server time. A request
refused before execution (authentication, parameter validation, a key reused with other
parameters, a key still in use, a rate limit) leaves the key unused. A request with a key that is
still executing gets 409 `idempotency_key_in_use`.

A request executes under the state lock, so requests are atomic. Only a stall (a test control)
makes one wait before executing, outside the lock with its key in progress, which is how a
concurrent request with the same key can see it still running. Test controls can also make the
next matching requests fail: a 429 before execution, or a 500 once execution began (control.py).
"""

import base64
import json
import logging
import re
from dataclasses import dataclass, field

# events, payments and disputes are imported for their routes, which register themselves on
# ROUTES.
from . import balances, connect, customers, disputes, events, payments, shapes  # noqa: F401
from .api import ROUTES, Context, expand
from .errors import (StripeError, api_error, idempotency_in_use, idempotency_mismatch,
                     invalid_api_key, invalid_request, no_api_key, rate_limited, unrecognized_url)
from .forms import Params, parse
from .store import PLATFORM, SavedResponse, Stalled, State, new_id
from .webhooks import DEFAULT_SECRET, Dispatcher

log = logging.getLogger("stripe_server")

DEFAULT_API_VERSION = "2025-04-30.basil"
_TEST_KEY = re.compile(r"^(sk|rk)_test_\w+$")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


@dataclass
class _Request:
    """One API request once authenticated: what executing it and storing its answer need."""
    method: str
    path: str
    data: dict
    account: str
    key: str          # the Idempotency-Key of a POST, or None
    request_id: str
    version: str      # the Stripe-Version it asked for, or None
    base_url: str

    @property
    def fingerprint(self):
        """What a reused idempotency key must repeat: the method, path and parameters."""
        return json.dumps([self.method, self.path, self.data], sort_keys=True)


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
            # Until the endpoint executes, a refusal leaves the idempotency key unused.
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
                request = _Request(method, path, data, self._account(headers.get("Stripe-Account")),
                                   key, request_id, version, base_url)
                if self.state.take_rule(self.state.failures, method, path, data,
                                        error="rate_limit"):
                    raise rate_limited()
                if key:
                    replay = self._replay(request, answer)
                    if replay:
                        return replay
                stall = self.state.take_rule(self.state.stalls, method, path, data)
                if stall is None:
                    return self._execute(request, answer)
                waiting = self._start_stall(request)
            return self._stalled(request, answer, waiting, stall.seconds)
        except StripeError as error:
            return json_response(error.status, error.body(), answer)

    def _start_stall(self, request):
        """Mark the request stalled and its key in progress, as on Stripe while it executes."""
        waiting = Stalled(request.method, request.path, request.key, request.request_id,
                          self.state.generation)
        if request.key:
            self.state.in_progress[(request.account, request.key)] = request.fingerprint
        self.state.stalled.append(waiting)
        self.state.stalls_changed.notify_all()
        return waiting

    def _stalled(self, request, answer, waiting, seconds):
        """Wait, without the state lock so other requests run meanwhile, then execute."""
        generation = waiting.generation
        try:
            waiting.released.wait(seconds)
            with self.state.lock:
                if waiting in self.state.stalled:
                    self.state.stalled.remove(waiting)
                    self.state.stalls_changed.notify_all()
                if self.state.generation != generation:
                    # A reset forgot the objects this request was for: it must not run against
                    # the new state, and what it answers is stored nowhere.
                    raise api_error()
                return self._execute(request, answer)
        finally:
            with self.state.lock:
                if request.key and self.state.generation == generation:
                    self.state.in_progress.pop((request.account, request.key), None)

    def _execute(self, request, answer):
        """Run the endpoint (under the state lock) and store its answer under the idempotency
        key, errors included, unless it was refused before executing."""
        if request.key:
            answer = {**answer, "Idempotent-Replayed": "false"}
        self.settle()
        ctx = Context(self, request.account, request.request_id, request.key, request.version,
                      request.base_url)
        response = self._run(ctx, request, answer)
        if request.key:
            self.state.save_response(request.account, request.key, SavedResponse(
                request.fingerprint, response.status, response.body, request.request_id,
                self.state.now()))
        return response

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

    def _replay(self, request, answer):
        """The stored answer for the request's key; None when the key is unused (or expired)."""
        key = (request.account, request.key)
        saved = self.state.saved_response(*key)
        if saved is not None:
            if saved.fingerprint != request.fingerprint:
                raise idempotency_mismatch(request.key)
            return Response(saved.status, saved.body, {
                "Content-Type": "application/json", **answer, "Idempotent-Replayed": "true",
                "Original-Request": saved.request_id})
        running = self.state.in_progress.get(key)
        if running is not None:
            if running != request.fingerprint:
                raise idempotency_mismatch(request.key)
            raise idempotency_in_use()
        return None

    def _run(self, ctx, request, answer):
        """The endpoint's answer: its object, or the error it raised while executing. A request
        refused before executing (a malformed parameter) raises instead, to be stored nowhere."""
        handler, path_ids = ROUTES.match(request.method, request.path)
        if handler is None:
            raise unrecognized_url(request.method, request.path)

        def failure(applied):
            return self.state.take_rule(self.state.failures, request.method, request.path,
                                        request.data, error="api_error", applied=applied)
        if failure(applied=False):
            # Stripe failed as the request began executing, before it changed anything.
            return json_response(500, api_error().body(), answer)
        params = Params(request.data)
        try:
            obj = handler(ctx, params, **path_ids)
            response = json_response(200, expand(ctx, obj, params.expand()), answer)
        except StripeError as error:
            if error.before_execution:
                raise
            response = json_response(error.status, error.body(), answer)
        except Exception:  # a bug here must not look like a Stripe answer the client trusts
            log.exception("%s %s failed", request.method, request.path)
            response = json_response(500, api_error().body(), answer)
        if failure(applied=True):
            # Stripe failed after executing: the change stands, only its answer is lost.
            response = json_response(500, api_error().body(), answer)
        return response

