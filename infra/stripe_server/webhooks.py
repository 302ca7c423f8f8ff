"""Webhook delivery: signed like Stripe's, asynchronous, retried, and misbehaving on request.

Every event is POSTed as JSON to each configured endpoint with a `Stripe-Signature` header
`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed by the endpoint's secret>`, exactly as
Stripe signs, with the server's (advanceable) clock as `t`. A single background thread delivers in
event creation order; a delivery answered with a non-2xx status (redirects included, as Stripe
counts them) or not answered is retried after `retry_base`, then twice that, four times… until
`max_attempts` attempts. The event's `pending_webhooks` counts endpoints still to accept it.

For tests, `deliver_now` re-delivers chosen events synchronously (in a given order, several times,
optionally all at once, with a forged signature or a stale timestamp), `signed` returns a signed
request for a test to send itself, and every attempt is logged for `attempts`.
"""

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

log = logging.getLogger("stripe_server.webhooks")

DEFAULT_SECRET = "whsec_test_secret"
STALE_SECONDS = 600  # older than the 300 s tolerance of Stripe's libraries
SIGNATURES = ("valid", "forged", "stale")


def signature_header(payload, secret, timestamp):
    """The Stripe-Signature header value for `payload` (bytes) signed at `timestamp`."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str = DEFAULT_SECRET


@dataclass(order=True)
class _Delivery:
    due: float  # time.monotonic() at which to (re)try
    seq: int    # creation order among deliveries due at the same moment
    event_id: str = field(compare=False)
    endpoint: Endpoint = field(compare=False)
    attempt: int = field(compare=False, default=1)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx answer is a failed delivery, as on Stripe


_opener = urllib.request.build_opener(_NoRedirects)


class Dispatcher:
    def __init__(self, state, endpoints=(), max_attempts=5, retry_base=0.5,
                 default_secret=DEFAULT_SECRET, timeout=5.0):
        self.state = state
        self.endpoints = list(endpoints)
        self.default_secret = default_secret  # for endpoints configured without a secret
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.timeout = timeout
        self.paused = False
        self._queue = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._attempts = []
        self._cond = threading.Condition()
        threading.Thread(target=self._run, name="webhooks", daemon=True).start()

    # --- configuration ---

    def configure(self, endpoints=None, max_attempts=None, retry_base=None):
        """Replace the endpoints (queued deliveries to dropped ones are forgotten) or settings."""
        with self._cond:
            if endpoints is not None:
                self.endpoints = list(endpoints)
                self._queue = [d for d in self._queue if d.endpoint in self.endpoints]
                heapq.heapify(self._queue)
            if max_attempts is not None:
                self.max_attempts = max_attempts
            if retry_base is not None:
                self.retry_base = retry_base

    def set_paused(self, paused):
        with self._cond:
            self.paused = paused
            self._cond.notify_all()

    def reset(self):
        """Forget queued deliveries and the attempt log (endpoints and settings stay)."""
        with self._cond:
            self._queue.clear()
            self._attempts.clear()

    def settings(self):
        with self._cond:
            return {"endpoints": [{"url": e.url, "secret": e.secret} for e in self.endpoints],
                    "paused": self.paused, "max_attempts": self.max_attempts,
                    "retry_base": self.retry_base, "queued": len(self._queue)}

    # --- automatic delivery ---

    def enqueue(self, event):
        """Queue `event` (just recorded, state lock held) for every endpoint."""
        with self._cond:
            event["pending_webhooks"] = len(self.endpoints)
            now = time.monotonic()
            for endpoint in self.endpoints:
                heapq.heappush(self._queue, _Delivery(now, next(self._seq), event["id"], endpoint))
            self._cond.notify_all()

    def wait_idle(self, timeout):
        """Wait until nothing is queued or being delivered; False if that took over `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _run(self):
        while True:
            with self._cond:
                delivery = self._next_due()
                self._in_flight += 1
            try:
                self._attempt(delivery)
            except Exception:  # keep delivering the other events whatever went wrong here
                log.exception("delivering %s failed", delivery.event_id)
            finally:
                # Only now, after any retry is queued, may wait_idle see the delivery as done.
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _attempt(self, delivery):
        record = self._post(delivery.event_id, delivery.endpoint, delivery.attempt,
                            automatic=True)
        if record is None:
            return  # the event is gone (state was reset)
        if record["ok"]:
            with self.state.lock:
                event = self._event(delivery.event_id)
                if event:
                    event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
        elif delivery.attempt < self.max_attempts:
            delay = self.retry_base * 2 ** (delivery.attempt - 1)
            with self._cond:
                if delivery.endpoint in self.endpoints:
                    heapq.heappush(self._queue, _Delivery(
                        time.monotonic() + delay, next(self._seq), delivery.event_id,
                        delivery.endpoint, delivery.attempt + 1))

    def _next_due(self):
        """Block (condition held) until a delivery is due and delivery is not paused."""
        while True:
            if self._queue and not self.paused:
                wait = self._queue[0].due - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._queue)
                self._cond.wait(wait)
            else:
                self._cond.wait()

    # --- deliveries on request (test controls) ---

    def deliver_now(self, event_ids, times=1, concurrent=False, signature="valid",
                    stale_seconds=STALE_SECONDS, url=None):
        """Deliver the events in the given order, each `times` times, to `url` (with the first
        endpoint's secret) or to every endpoint; with `concurrent` all at once. No retries.
        Returns the attempt records, in the order the deliveries were made."""
        with self._cond:
            secret = self.endpoints[0].secret if self.endpoints else self.default_secret
            targets = [Endpoint(url, secret)] if url else list(self.endpoints)
        jobs = [(event_id, target) for event_id in event_ids for _ in range(times)
                for target in targets]

        def send(job):
            return self._post(*job, attempt=1, automatic=False, signature=signature,
                              stale_seconds=stale_seconds)
        if concurrent and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=min(len(jobs), 32)) as pool:
                return list(pool.map(send, jobs))
        return [send(job) for job in jobs]

    def signed(self, event_id, secret=None, signature="valid", stale_seconds=STALE_SECONDS):
        """(payload, headers) that a delivery of `event_id` would carry, or None if unknown."""
        snapshot = self._snapshot(event_id)
        if snapshot is None:
            return None
        payload, _, timestamp = snapshot
        with self._cond:
            default = self.endpoints[0].secret if self.endpoints else self.default_secret
        return payload, self._headers(payload, secret or default, timestamp, signature,
                                      stale_seconds)

    def attempts(self, event_id=None):
        with self._cond:
            return [dict(a) for a in self._attempts
                    if event_id is None or a["event_id"] == event_id]

    # --- one HTTP delivery ---

    def _event(self, event_id):
        for ledger in self.state.ledgers.values():
            event = ledger.get("event", event_id)
            if event is not None:
                return event
        return None

    def _snapshot(self, event_id):
        """The event as sent now: (payload bytes, type, server time), or None if unknown."""
        with self.state.lock:
            event = self._event(event_id)
            if event is None:
                return None
            return json.dumps(event, indent=2).encode(), event["type"], self.state.now()

    def _headers(self, payload, secret, timestamp, signature, stale_seconds):
        if signature == "stale":
            timestamp -= stale_seconds
        if signature == "forged":
            secret = secret + "_forged"
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Cache-Control": "no-cache",
            "Stripe-Signature": signature_header(payload, secret, timestamp),
        }

    def _post(self, event_id, endpoint, attempt, automatic, signature="valid",
              stale_seconds=STALE_SECONDS):
        snapshot = self._snapshot(event_id)
        if snapshot is None:
            return None
        payload, event_type, delivered_at = snapshot
        headers = self._headers(payload, endpoint.secret, delivered_at, signature, stale_seconds)
        status, error = None, None
        request = urllib.request.Request(endpoint.url, data=payload, headers=headers,
                                         method="POST")
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as failure:
            status = failure.code
        except OSError as failure:  # refused, reset, timed out, unknown host…
            error = str(failure.reason if isinstance(failure, urllib.error.URLError) else failure)
        record = {"event_id": event_id, "event_type": event_type, "url": endpoint.url,
                  "attempt": attempt, "status": status, "error": error,
                  "ok": status is not None and 200 <= status < 300,
                  "automatic": automatic, "signature": signature, "delivered_at": delivered_at}
        with self._cond:
            self._attempts.append(record)
        return record
