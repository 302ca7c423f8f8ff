"""Events: the record of every state change, and what webhooks deliver.

Each change an endpoint makes is recorded as an Event whose `data.object` is a snapshot of the
object at that moment, kept on the account where it happened (an event on a connected account
also names that `account`, as Connect webhooks do), and handed to the webhook dispatcher.
"""

import copy

from . import shapes
from .api import ROUTES, paginate
from .store import PLATFORM, new_id


def emit(ctx, type_, obj, previous_attributes=None):
    data = {"object": copy.deepcopy(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = copy.deepcopy(previous_attributes)
    event = shapes.event(
        new_id("evt_"), ctx.now(),
        api_version=ctx.api_version or ctx.app.api_version,
        data=data,
        request={"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
        type=type_)
    if ctx.account != PLATFORM:
        event["account"] = ctx.account
    ctx.ledger.put(event)
    ctx.app.webhooks.enqueue(event)
    return event


@ROUTES.route("GET", "/v1/events/{event_id}")
def retrieve_event(ctx, params, event_id):
    params.allow()
    return ctx.get("event", event_id)


@ROUTES.route("GET", "/v1/events")
def list_events(ctx, params):
    wanted = set(params.string_list("types") or [])
    if params.string("type"):
        wanted.add(params.string("type"))
    events = [e for e in ctx.ledger.all("event") if not wanted or e["type"] in wanted]
    return paginate(params, events, "/v1/events", "type", "types")
