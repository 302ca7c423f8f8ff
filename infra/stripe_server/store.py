"""The server's whole state: objects per account, events, idempotency keys and the clock.

Stripe keeps a connected account's objects apart from the platform's: a request with a
`Stripe-Account` header sees only that account's objects, and an id from another account is
"No such …". `State` keeps one `Ledger` per account (the platform's under `PLATFORM`) and is
guarded by one lock that each API request holds from start to finish, so every request is atomic
and replays of an idempotency key never race with the first use of that key.

The clock is the host's clock plus an offset that tests can advance: it stamps `created`, signs
webhooks, decides when pending funds become available and when idempotency keys expire.
"""

import secrets
import string
import threading
import time
from dataclasses import dataclass, field

PLATFORM = ""  # the ledger key of the platform account (no Stripe-Account header)
IDEMPOTENCY_TTL = 24 * 3600  # Stripe keeps idempotency keys for 24 hours
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
        self.clock_offset = 0.0
        self.reset()

    def reset(self):
        """Forget every object, event, key and test instruction; the clock returns to real time."""
        with self.lock:
            self.clock_offset = 0.0
            self.ledgers = {PLATFORM: Ledger()}
            self.idempotency = {}
            # Declines queued by tests: payment intent id (or None for "any") -> decline code.
            self.forced_declines = {}
            # Single-use account links: token -> {account, expires_at, used, return_url, refresh_url}.
            self.onboarding_links = {}

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
        if saved and self.now() - saved.created > IDEMPOTENCY_TTL:
            del self.idempotency[(account, key)]
            return None
        return saved

    def save_response(self, account, key, saved):
        self.idempotency[(account, key)] = saved
