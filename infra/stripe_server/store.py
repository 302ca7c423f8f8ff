"""The server's whole state: objects per account, events, idempotency keys and the clock.

Stripe keeps a connected account's objects apart from the platform's: a request with a
`Stripe-Account` header sees only that account's objects, and an id from another account is
"No such …". `State` keeps one `Ledger` per account (the platform's under `PLATFORM`) and is
guarded by one lock that each API request holds while it executes, so every request is atomic.

Idempotency keys: the answer of a request that executed is kept under its key for 24 hours of
server time (`IDEMPOTENCY_TTL`; afterwards the key is new again), and a key whose request is still
executing is `in_progress`. Requests only ever execute in between locks when a test stalls them
(`stalls`); otherwise the first use of a key and its replays never overlap.

The clock is the host's clock plus an offset that tests can advance: it stamps `created`, signs
webhooks, decides when pending funds become available and when idempotency keys expire.

Test instructions live here too, so a reset forgets them: queued card declines, and `RequestRule`s
that make matching API requests fail (`failures`) or wait before executing (`stalls`).
"""

import secrets
import string
import threading
import time
from dataclasses import dataclass, field

PLATFORM = ""  # the ledger key of the platform account (no Stripe-Account header)
IDEMPOTENCY_TTL = 24 * 3600  # Stripe prunes idempotency keys once they are 24 hours old
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix, length=24):
    """An id shaped like Stripe's: the object's prefix and random letters and digits."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class SavedResponse:
    """A response kept under an idempotency key, replayed as it was for the same request."""
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    created: float


@dataclass
class RequestRule:
    """A test instruction for the next `times` API requests that match it (see control.py)."""
    method: str = None  # None: any method
    path: str = None    # whole-segment prefix: "/v1/refunds" covers /v1/refunds/re_1; None: any
    params: dict = field(default_factory=dict)  # top-level parameters the request sends, as strings
    times: int = 1
    error: str = None      # failures: "api_error" (500, stored) or "rate_limit" (429, not stored)
    applied: bool = False  # failures: the endpoint runs and its change stays; only the answer fails
    seconds: float = 0.0   # stalls: the longest the request waits before executing

    def matches(self, method, path, data):
        if self.method is not None and self.method != method:
            return False
        if self.path is not None and path != self.path and not path.startswith(self.path + "/"):
            return False
        return all(data.get(name) == value for name, value in self.params.items())

    def describe(self):
        shown = {"method": self.method, "path": self.path, "params": self.params,
                 "times": self.times}
        if self.error:
            shown.update(error=self.error, applied=self.applied)
        else:
            shown["seconds"] = self.seconds
        return shown


@dataclass
class Stalled:
    """An API request waiting, outside the state lock, before it executes (a stall rule's)."""
    method: str
    path: str
    idempotency_key: str
    request_id: str
    generation: int  # the state's when it stalled: a reset since then forgot its objects
    released: threading.Event = field(default_factory=threading.Event)

    def describe(self):
        return {"method": self.method, "path": self.path,
                "idempotency_key": self.idempotency_key, "request_id": self.request_id}


@dataclass
class Ledger:
    """One account's objects by type then id, in creation order (lists are newest first)."""
    objects: dict = field(default_factory=dict)

    def put(self, obj):
        self.objects.setdefault(obj["object"], {})[obj["id"]] = obj
        return obj

    def get(self, kind, object_id):
        return self.objects.get(kind, {}).get(object_id)

    def all(self, kind):
        return list(self.objects.get(kind, {}).values())

    def find(self, object_id):
        """Any object of this account by id alone, for `expand`."""
        for by_id in self.objects.values():
            if object_id in by_id:
                return by_id[object_id]
        return None


class State:
    def __init__(self):
        self.lock = threading.RLock()
        # Notified whenever a request starts or stops stalling (for /_test/stalls/wait).
        self.stalls_changed = threading.Condition(self.lock)
        self.clock_offset = 0.0
        # Counts resets, so a request stalled across one knows its state is gone.
        self.generation = 0
        self.stalled = []
        self.reset()

    def reset(self):
        """Forget every object, event, key and test instruction; the clock returns to real time.
        Stalled requests are let go (they answer a 500 without executing: see app.py)."""
        with self.lock:
            self.generation += 1
            self.release_stalled()
            self.clock_offset = 0.0
            self.ledgers = {PLATFORM: Ledger()}
            self.idempotency = {}
            # Keys of requests executing now, while stalled: (account, key) -> fingerprint.
            self.in_progress = {}
            # RequestRules queued by tests, applied in the order they were queued.
            self.failures = []
            self.stalls = []
            # Declines queued by tests: payment intent id (or None for "any") -> decline code.
            self.forced_declines = {}
            # Single-use account links: token -> {account, expires_at, used, return_url, refresh_url}.
            self.onboarding_links = {}

    def take_rule(self, rules, method, path, data, **fields):
        """The first of `rules` that matches the request (and has `fields`), used up once."""
        for rule in rules:
            if rule.matches(method, path, data) and all(
                    getattr(rule, name) == value for name, value in fields.items()):
                rule.times -= 1
                if rule.times <= 0:
                    rules.remove(rule)
                return rule
        return None

    def release_stalled(self):
        """Let every stalled request go on now; how many there were."""
        with self.lock:
            released = len(self.stalled)
            for stalled in self.stalled:
                stalled.released.set()
            self.stalled = []
            self.stalls_changed.notify_all()
            return released

    def now(self):
        return int(time.time() + self.clock_offset)

    def advance(self, seconds):
        with self.lock:
            self.clock_offset += seconds
            return self.now()

    def ledger(self, account):
        return self.ledgers.setdefault(account or PLATFORM, Ledger())

    def account_exists(self, account_id):
        return self.ledger(PLATFORM).get("account", account_id) is not None

    def saved_response(self, account, key):
        saved = self.idempotency.get((account, key))
        if saved and self.now() - saved.created >= IDEMPOTENCY_TTL:
            del self.idempotency[(account, key)]
            return None
        return saved

    def save_response(self, account, key, saved):
        self.idempotency[(account, key)] = saved
