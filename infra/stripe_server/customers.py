"""Customers and SetupIntents: saving a card for later, off-session payments.

A SetupIntent follows Stripe's state machine:

    requires_payment_method --(payment_method)--> requires_confirmation
        --confirm--> succeeded                 (the payment method is attached to the customer)
        --confirm, card declined--> requires_payment_method   (402 card_error, last_setup_error)
        --confirm, card needs 3-D Secure--> requires_action    (next_action use_stripe_sdk)
    requires_action --test control, authenticated--> succeeded
                    --test control, authentication failed--> requires_payment_method
    requires_payment_method | requires_confirmation | requires_action --cancel--> canceled

A saved card is then charged with a PaymentIntent naming the customer and the payment method,
confirmed `off_session`. `pm_card_authenticationRequired` (Stripe's 4000 0027 6000 3184) needs
3-D Secure on every transaction: its setup stops at `requires_action`, and once saved, every
off-session payment on it is declined with Stripe's 402 authentication_required (payments.py),
the intent waiting for the customer to pay on-session.
"""

import copy

from . import shapes
from .api import ROUTES, paginate
from .errors import StripeError, invalid_request, unexpected_state, validation_error
from .events import emit
from .payments import (AUTHENTICATION_FAILED, DECLINES, check_owner, resolve_payment_method,
                       test_card)
from .store import new_id


# --- customers ---------------------------------------------------------------------------------

@ROUTES.route("POST", "/v1/customers")
def create_customer(ctx, params):
    params.allow("email", "name", "description", "metadata", "phone")
    customer = ctx.ledger.put(shapes.customer(
        new_id("cus_", 14), ctx.now(), email=params.string("email"), name=params.string("name"),
        description=params.string("description"), phone=params.string("phone"),
        metadata=params.metadata(), invoice_prefix=new_id("", 7).upper()))
    emit(ctx, "customer.created", customer)
    return customer


@ROUTES.route("GET", "/v1/customers/{cus_id}")
def retrieve_customer(ctx, params, cus_id):
    params.allow()
    return ctx.get("customer", cus_id, label="customer")


# --- setup intents -----------------------------------------------------------------------------

_CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


@ROUTES.route("POST", "/v1/setup_intents")
def create_setup_intent(ctx, params):
    params.allow("customer", "description", "metadata", "payment_method", "payment_method_types",
                 "usage", "confirm", "return_url", "use_stripe_sdk")
    customer = params.string("customer")
    if customer:
        ctx.get("customer", customer, param="customer", label="customer")
    seti_id = new_id("seti_")
    fields = dict(
        customer=customer, description=params.string("description"),
        metadata=params.metadata(),
        usage=params.string("usage", default="off_session", choices=("off_session", "on_session")),
        payment_method_types=params.string_list("payment_method_types") or ["card"])
    if params.string("payment_method"):
        fields["payment_method"] = resolve_payment_method(ctx, params.string("payment_method"))["id"]
        fields["status"] = "requires_confirmation"
    intent = ctx.ledger.put(shapes.setup_intent(
        seti_id, ctx.now(), client_secret=f"{seti_id}_secret_{new_id('', 25)}", **fields))
    emit(ctx, "setup_intent.created", intent)
    if params.boolean("confirm"):
        _confirm(ctx, intent)
    return intent


@ROUTES.route("GET", "/v1/setup_intents/{seti_id}")
def retrieve_setup_intent(ctx, params, seti_id):
    params.allow("client_secret")
    return ctx.get("setup_intent", seti_id, param="intent", label="setup_intent")


@ROUTES.route("GET", "/v1/setup_intents")
def list_setup_intents(ctx, params):
    intents = ctx.ledger.all("setup_intent")
    if params.string("customer"):
        intents = [i for i in intents if i["customer"] == params.string("customer")]
    return paginate(params, intents, "/v1/setup_intents", "customer")


@ROUTES.route("POST", "/v1/setup_intents/{seti_id}/confirm")
def confirm_setup_intent(ctx, params, seti_id):
    """What the client SDK does with the client secret (confirmSetup): the card is checked and,
    unless it needs 3-D Secure, saved to the customer."""
    params.allow("payment_method", "return_url", "use_stripe_sdk")
    intent = ctx.get("setup_intent", seti_id, param="intent", label="setup_intent")
    if params.string("payment_method"):
        intent["payment_method"] = resolve_payment_method(ctx, params.string("payment_method"))["id"]
    _confirm(ctx, intent)
    return intent


@ROUTES.route("POST", "/v1/setup_intents/{seti_id}/cancel")
def cancel_setup_intent(ctx, params, seti_id):
    params.allow("cancellation_reason")
    intent = ctx.get("setup_intent", seti_id, param="intent", label="setup_intent")
    if intent["status"] not in _CONFIRMABLE:
        raise unexpected_state(
            f"You cannot cancel this SetupIntent because it has a status of {intent['status']}.",
            copy.deepcopy(intent))
    intent.update(status="canceled", next_action=None, cancellation_reason=params.string(
        "cancellation_reason", choices=("abandoned", "duplicate", "requested_by_customer")))
    emit(ctx, "setup_intent.canceled", intent)
    return intent


def _confirm(ctx, intent, authenticated=False):
    if intent["status"] not in _CONFIRMABLE:
        raise unexpected_state(
            f"You cannot confirm this SetupIntent because it has a status of {intent['status']}.",
            copy.deepcopy(intent))
    if not intent["payment_method"]:
        raise validation_error("You must provide a payment_method to confirm this SetupIntent.",
                               param="payment_method", code="parameter_missing")
    payment_method = ctx.get("payment_method", intent["payment_method"], label="PaymentMethod")
    card = test_card(payment_method)
    if card.authentication and not authenticated:
        intent.update(status="requires_action", last_setup_error=None, next_action={
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect",
                               "stripe_js": f"{ctx.base_url}/_test/3ds/{intent['id']}",
                               "source": new_id("src_")}})
        emit(ctx, "setup_intent.requires_action", intent)
        return
    if card.decline:
        code, message = DECLINES[card.decline]
        error = StripeError(402, "card_error", message, code=code, decline_code=card.decline,
                            payment_method=copy.deepcopy(payment_method))
        intent.update(status="requires_payment_method", payment_method=None, next_action=None,
                      last_setup_error=copy.deepcopy(error.error))
        emit(ctx, "setup_intent.setup_failed", intent)
        raise error
    if intent["customer"]:
        check_owner(payment_method, intent["customer"])
        payment_method["customer"] = intent["customer"]
        emit(ctx, "payment_method.attached", payment_method)
    intent.update(status="succeeded", last_setup_error=None, next_action=None)
    emit(ctx, "setup_intent.succeeded", intent)


def authenticate(ctx, intent, succeed=True):
    """The customer's answer to a `requires_action` SetupIntent's 3-D Secure challenge (a test
    control): passed, the card is saved; failed, the intent waits for another payment method."""
    if succeed:
        _confirm(ctx, intent, authenticated=True)
        return intent
    payment_method = ctx.get("payment_method", intent["payment_method"], label="PaymentMethod")
    error = invalid_request(AUTHENTICATION_FAILED.replace("PaymentIntent", "SetupIntent"),
                            code="setup_intent_authentication_failure",
                            payment_method=copy.deepcopy(payment_method))
    intent.update(status="requires_payment_method", payment_method=None, next_action=None,
                  last_setup_error=error.error)
    emit(ctx, "setup_intent.setup_failed", intent)
    return intent
