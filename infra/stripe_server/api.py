"""The glue every API endpoint plugs into: request context, routing, lists and `expand`.

Each feature module (payments, connect, events, balances) registers its endpoints on `ROUTES` with
`@ROUTES.route(method, path)`. A handler takes the request's `Context`, its `Params` and the ids
captured from the path, and returns the Stripe object to answer with; it raises `StripeError` to
answer an error. The app (app.py) does the rest: authentication, idempotency keys, `expand[]`.
"""

import copy
import re
from dataclasses import dataclass

from .errors import invalid_request, resource_missing
from .store import PLATFORM


@dataclass
class Context:
    """Who is asking and on whose account: what a handler needs besides its parameters."""
    app: object             # the App, for its state and webhook dispatcher
    account: str            # PLATFORM, or the connected account named by Stripe-Account
    request_id: str = None  # None for changes made by test controls or by the passing of time
    idempotency_key: str = None
    api_version: str = None
    base_url: str = ""      # how the client reached us, for URLs we hand out (account links)

    @property
    def state(self):
        return self.app.state

    @property
    def ledger(self):
        return self.app.state.ledger(self.account)

    @property
    def platform(self):
        return self.app.state.ledger(PLATFORM)

    def now(self):
        return self.app.state.now()

    def get(self, kind, object_id, param="id", label=None):
        """One of this account's objects, or Stripe's 404 naming it."""
        obj = self.ledger.get(kind, object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise resource_missing(label or kind, object_id, param)
        return obj


class Router:
    def __init__(self):
        self.routes = []

    def route(self, method, pattern):
        """Register a handler for `method` on `pattern`; `{name}` captures one path segment."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

        def register(handler):
            self.routes.append((method, regex, handler))
            return handler
        return register

    def match(self, method, path):
        """(handler, ids captured from the path), or (None, None) when no route matches."""
        for route_method, regex, handler in self.routes:
            found = regex.match(path)
            if found and route_method == method:
                return handler, found.groupdict()
        return None, None


ROUTES = Router()


def paginate(params, items, url, *filters):
    """A Stripe list of `items` (oldest first), newest first, honouring limit and cursors.

    `filters` names the equality filters this list endpoint takes besides the cursors.
    """
    params.allow("limit", "starting_after", "ending_before", *filters)
    limit = params.integer("limit", default=10)
    if not 1 <= limit <= 100:
        raise invalid_request("This value must be between 1 and 100.", param="limit")
    items = list(reversed(items))
    ids = [item["id"] for item in items]
    after, before = params.string("starting_after"), params.string("ending_before")
    for cursor, name in ((after, "starting_after"), (before, "ending_before")):
        if cursor is not None and cursor not in ids:
            raise invalid_request(f"No such object: '{cursor}'", param=name,
                                  code="resource_missing")
    if after is not None:
        items = items[ids.index(after) + 1:]
        page = items[:limit]
    elif before is not None:
        items = items[:ids.index(before)]
        page = items[-limit:]
    else:
        page = items[:limit]
    return {"object": "list", "data": page, "has_more": len(items) > len(page), "url": url}


def expand(ctx, obj, paths):
    """A copy of `obj` with each `expand[]` path (`latest_charge`, `data.charge`,
    `latest_charge.balance_transaction`…) replaced by the object its id names."""
    obj = copy.deepcopy(obj)
    for path in paths:
        _expand(ctx, obj, path.split("."), path)
    return obj


def _expand(ctx, node, segments, path):
    head, rest = segments[0], segments[1:]
    if node.get("object") == "list" and head == "data":
        for item in node["data"]:
            if rest:
                _expand(ctx, item, rest, path)
        return
    if head not in node or not isinstance(node[head], (str, dict, type(None))):
        raise invalid_request(f"This property cannot be expanded ({head}).", param="expand")
    value = node[head]
    if isinstance(value, str):
        found = ctx.ledger.find(value) or ctx.platform.find(value)
        if found is None:
            raise invalid_request(f"This property cannot be expanded ({head}).", param="expand")
        value = node[head] = copy.deepcopy(found)
    if rest and isinstance(value, dict):
        _expand(ctx, value, rest, path)
