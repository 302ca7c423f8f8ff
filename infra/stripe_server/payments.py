"""Payments: PaymentMethods, PaymentIntents, Charges and Refunds.

A PaymentIntent follows Stripe's state machine:

    requires_payment_method --(payment_method)--> requires_confirmation
        --confirm--> succeeded                          (capture_method automatic)
        --confirm--> requires_capture --capture--> succeeded   (capture_method manual)
        --confirm, card declined--> requires_payment_method  (402 card_error, last_payment_error)
        --confirm, card needs 3-D Secure--> requires_action   (next_action use_stripe_sdk)
    requires_action --test control, authenticated--> succeeded | requires_capture  (as confirm)
                    --test control, authentication failed--> requires_payment_method
                    --confirm (another payment method, or the same again)--> as any confirmation
    requires_payment_method | requires_confirmation | requires_action | requires_capture
        --cancel--> canceled
    requires_payment_method | requires_confirmation | requires_action
        --test control--> processing     (a card payment in flight: confirm, capture and cancel
                                          are refused)

Payment methods are Stripe's test ones (`pm_card_visa`, `pm_card_chargeDeclined`, …): each use of
such a token makes a new `pm_…` PaymentMethod whose card's last four digits decide the outcome, as
Stripe's test card numbers do. A test control can also make an intent's next confirmation fail.
Every confirmation that reaches the card network writes a Charge; a captured one writes a balance
transaction.

`pm_card_authenticationRequired` (Stripe's 4000 0027 6000 3184; `pm_card_threeDSecure2Required`
is the same card) needs 3-D Secure on every payment: confirming leaves the intent
`requires_action`, with no charge yet and a `next_action` whose URL stands for the bank's challenge
(`/_test/3ds/{id}`); a test control passes or fails the challenge. Passed, the payment goes on as
any confirmation does; failed, the intent waits for another payment method with Stripe's
payment_intent_authentication_failure. A confirmation that may not stop for the customer
(`off_session`, `error_on_requires_action`) is declined instead, as Stripe declines it: 402
authentication_required.

A disputed charge cannot be refunded unless its dispute was won (disputes.py).
"""

import copy
import uuid
from dataclasses import dataclass

from . import balances, disputes, shapes
from .api import ROUTES, paginate
from .errors import StripeError, invalid_request, unexpected_state, validation_error
from .events import emit
from .store import new_id


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    decline: str = None          # the decline code every charge on this card gets
    bypass_pending: bool = False  # funds available at once (Stripe's 4000 0000 0000 0077)
    funding: str = "credit"
    authentication: bool = False  # 3-D Secure on every payment (Stripe's 4000 0027 6000 3184)


# Decline code -> (error code, message), as Stripe answers for its declining test cards.
DECLINES = {
    "generic_decline": ("card_declined", "Your card was declined."),
    "insufficient_funds": ("card_declined", "Your card has insufficient funds."),
    "lost_card": ("card_declined", "Your card was declined."),
    "stolen_card": ("card_declined", "Your card was declined."),
    "expired_card": ("expired_card", "Your card has expired."),
    "incorrect_cvc": ("incorrect_cvc", "Your card's security code is incorrect."),
    "processing_error": (
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit."),
    # A card that needs 3-D Secure, confirmed where the customer cannot authenticate.
    "authentication_required": (
        "authentication_required",
        "Your card was declined. This transaction requires authentication."),
}

_DECLINING = {
    "chargeDeclined": TestCard("visa", "0002", "generic_decline"),
    "chargeDeclinedInsufficientFunds": TestCard("visa", "9995", "insufficient_funds"),
    "chargeDeclinedLostCard": TestCard("visa", "9987", "lost_card"),
    "chargeDeclinedStolenCard": TestCard("visa", "9979", "stolen_card"),
    "chargeDeclinedExpiredCard": TestCard("visa", "0069", "expired_card"),
    "chargeDeclinedIncorrectCvc": TestCard("visa", "0127", "incorrect_cvc"),
    "chargeDeclinedProcessingError": TestCard("visa", "0119", "processing_error"),
}
_AUTHENTICATION_REQUIRED = TestCard("visa", "3184", authentication=True)
TEST_CARDS = {
    "pm_card_visa": TestCard("visa", "4242"),
    "pm_card_visa_debit": TestCard("visa", "5556", funding="debit"),
    "pm_card_mastercard": TestCard("mastercard", "4444"),
    "pm_card_amex": TestCard("amex", "8431"),
    "pm_card_bypassPending": TestCard("visa", "0077", bypass_pending=True),
    "pm_card_authenticationRequired": _AUTHENTICATION_REQUIRED,
    "pm_card_threeDSecure2Required": _AUTHENTICATION_REQUIRED,
    **{f"pm_card_{name}": card for name, card in _DECLINING.items()},
    **{f"pm_card_visa_{name}": card for name, card in _DECLINING.items()},
}
_BY_LAST4 = {card.last4: card for card in TEST_CARDS.values()}

AUTHENTICATION_FAILED = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or "
    "a new PaymentMethod to attempt to fulfill this PaymentIntent again.")

# Smallest amount Stripe accepts per currency (in minor units), for the currencies we expect.
MINIMUM_AMOUNT = {"usd": 50, "eur": 50, "cad": 50, "aud": 50, "gbp": 30}

UNCONFIRMED = ("requires_payment_method", "requires_confirmation", "requires_action")
# Stripe cancels a `processing` intent only for some non-card payment methods; a card payment
# that is processing cannot be canceled (400 payment_intent_unexpected_state).
CANCELABLE = UNCONFIRMED + ("requires_capture",)


# --- payment methods ---------------------------------------------------------------------------

def resolve_payment_method(ctx, value, param="payment_method"):
    """The PaymentMethod a request names: a test token makes a new one, as on Stripe."""
    card = TEST_CARDS.get(value)
    if card is not None:
        return ctx.ledger.put(shapes.payment_method(
            new_id("pm_"), ctx.now(), card=shapes.card(card.brand, card.last4,
                                                       funding=card.funding)))
    return ctx.get("payment_method", value, param=param, label="PaymentMethod")


def test_card(payment_method):
    """The test card a PaymentMethod was made from (by its last four digits)."""
    return _BY_LAST4.get(payment_method["card"]["last4"], TestCard("visa", "4242"))


@ROUTES.route("GET", "/v1/payment_methods/{pm_id}")
def retrieve_payment_method(ctx, params, pm_id):
    params.allow()
    return ctx.get("payment_method", pm_id, label="PaymentMethod")


# --- payment intents ---------------------------------------------------------------------------

def _amount(params, currency, required=True):
    amount = params.integer("amount", required=required, minimum=1)
    minimum = MINIMUM_AMOUNT.get(currency, 1)
    if amount is not None and amount < minimum:
        raise validation_error(f"Amount must be at least {minimum / 100:.2f} {currency}",
                               param="amount", code="amount_too_small")
    return amount


def _payment_method_settings(ctx, params):
    """payment_method_types / automatic_payment_methods, defaulting as Stripe now does to
    automatic payment methods when no types are given."""
    types = params.string_list("payment_method_types")
    automatic = params.hash("automatic_payment_methods")
    if types and automatic and automatic.boolean("enabled"):
        raise validation_error("You may only specify one of these parameters: "
                               "automatic_payment_methods, payment_method_types.")
    if types:
        return {"payment_method_types": types, "automatic_payment_methods": None,
                "payment_method_configuration_details": None}
    enabled = automatic.boolean("enabled", default=True) if automatic else True
    allow_redirects = automatic.string("allow_redirects", choices=("always", "never"),
                                       default="always") if automatic else "always"
    return {
        "payment_method_types": ["card"],
        "automatic_payment_methods": {"allow_redirects": allow_redirects, "enabled": enabled},
        "payment_method_configuration_details": (
            {"id": ctx.app.payment_method_configuration, "parent": None} if enabled else None),
    }


_CREATE_PARAMS = (
    "amount", "currency", "capture_method", "confirm", "confirmation_method", "customer",
    "description", "metadata", "payment_method", "payment_method_types",
    "automatic_payment_methods", "transfer_group", "receipt_email", "setup_future_usage",
    "statement_descriptor", "statement_descriptor_suffix",
    # 3-D Secure: off_session and error_on_requires_action decline a card that needs it instead
    # of waiting for the customer; return_url and use_stripe_sdk change nothing here.
    "return_url", "off_session", "error_on_requires_action", "use_stripe_sdk")


def _may_not_require_action(params):
    """Whether this confirmation must fail rather than wait for the customer to authenticate:
    `off_session` (true, or on creation "one_off" / "recurring") or error_on_requires_action."""
    off_session = params.string("off_session")
    if off_session not in (None, "true", "false", "one_off", "recurring"):
        raise validation_error(f"Invalid off_session: {off_session}", param="off_session")
    return off_session not in (None, "false") or params.boolean("error_on_requires_action")


@ROUTES.route("POST", "/v1/payment_intents")
def create_payment_intent(ctx, params):
    params.allow(*_CREATE_PARAMS)
    currency = params.currency()
    amount = _amount(params, currency)
    fields = dict(
        amount=amount, currency=currency,
        capture_method=params.string("capture_method", default="automatic",
                                     choices=("automatic", "automatic_async", "manual")),
        confirmation_method=params.string("confirmation_method", default="automatic",
                                          choices=("automatic", "manual")),
        customer=params.string("customer"),
        description=params.string("description"),
        metadata=params.metadata(),
        receipt_email=params.string("receipt_email"),
        setup_future_usage=params.string("setup_future_usage",
                                         choices=("off_session", "on_session")),
        statement_descriptor=params.string("statement_descriptor"),
        statement_descriptor_suffix=params.string("statement_descriptor_suffix"),
        transfer_group=params.string("transfer_group"),
        **_payment_method_settings(ctx, params))
    confirm = params.boolean("confirm")
    no_action = _may_not_require_action(params)
    payment_method = params.string("payment_method")
    if confirm and not payment_method:
        raise validation_error("You must provide a payment_method to confirm this PaymentIntent.",
                               param="payment_method", code="parameter_missing")
    if payment_method:
        resolved = resolve_payment_method(ctx, payment_method)
        check_owner(resolved, fields["customer"])
        fields["payment_method"] = resolved["id"]
        fields["status"] = "requires_confirmation"
    pi_id = new_id("pi_")
    intent = ctx.ledger.put(shapes.payment_intent(
        pi_id, ctx.now(), client_secret=f"{pi_id}_secret_{new_id('', 25)}", **fields))
    emit(ctx, "payment_intent.created", intent)
    if confirm:
        _confirm(ctx, intent, no_action)
    return intent


@ROUTES.route("GET", "/v1/payment_intents/{pi_id}")
def retrieve_payment_intent(ctx, params, pi_id):
    params.allow("client_secret")
    return ctx.get("payment_intent", pi_id, param="intent")


@ROUTES.route("GET", "/v1/payment_intents")
def list_payment_intents(ctx, params):
    intents = ctx.ledger.all("payment_intent")
    if params.string("customer"):
        intents = [i for i in intents if i["customer"] == params.string("customer")]
    return paginate(params, intents, "/v1/payment_intents", "customer")


# Fields Stripe lets change only before the intent is confirmed.
_UNCONFIRMED_ONLY = ("amount", "currency", "payment_method", "payment_method_types",
                     "capture_method")


@ROUTES.route("POST", "/v1/payment_intents/{pi_id}")
def update_payment_intent(ctx, params, pi_id):
    params.allow("amount", "currency", "capture_method", "customer", "description", "metadata",
                 "payment_method", "payment_method_types", "receipt_email",
                 "setup_future_usage", "statement_descriptor", "statement_descriptor_suffix",
                 "transfer_group")
    intent = ctx.get("payment_intent", pi_id, param="intent")
    for name in _UNCONFIRMED_ONLY:
        if params.has(name) and intent["status"] not in UNCONFIRMED:
            raise unexpected_state(
                f"This PaymentIntent's {name} could not be updated because it has a status of "
                f"{intent['status']}. You may only update the {name} of a PaymentIntent with one "
                f"of the following statuses: {', '.join(UNCONFIRMED)}.", copy.deepcopy(intent))
    currency = params.currency(required=False) or intent["currency"]
    changes = {"currency": currency, "metadata": params.metadata(intent["metadata"])}
    if params.has("amount"):
        changes["amount"] = _amount(params, currency)
    for name, choices in (("capture_method", ("automatic", "automatic_async", "manual")),
                          ("setup_future_usage", ("off_session", "on_session")),
                          ("customer", None), ("description", None), ("receipt_email", None),
                          ("statement_descriptor", None), ("statement_descriptor_suffix", None),
                          ("transfer_group", None)):
        if params.has(name):
            changes[name] = params.string(name, choices=choices)
    if params.has("payment_method_types"):
        changes.update(_payment_method_settings(ctx, params))
    if params.string("payment_method"):
        payment_method = resolve_payment_method(ctx, params.string("payment_method"))
        changes.update(payment_method=payment_method["id"], status="requires_confirmation",
                       next_action=None)
    intent.update(changes)
    # Stripe clears the previous confirmation's error whenever the intent is updated.
    intent["last_payment_error"] = None
    return intent


@ROUTES.route("POST", "/v1/payment_intents/{pi_id}/confirm")
def confirm_payment_intent(ctx, params, pi_id):
    params.allow("payment_method", "receipt_email", "return_url", "off_session",
                 "error_on_requires_action", "use_stripe_sdk")
    no_action = _may_not_require_action(params)
    intent = ctx.get("payment_intent", pi_id, param="intent")
    _check_confirmable(intent)
    if params.string("payment_method"):
        payment_method = resolve_payment_method(ctx, params.string("payment_method"))
        intent["payment_method"] = payment_method["id"]
    if params.has("receipt_email"):
        intent["receipt_email"] = params.string("receipt_email")
    _confirm(ctx, intent, no_action)
    return intent


def check_owner(payment_method, customer):
    """A saved card pays only for its customer, as on Stripe."""
    owner = payment_method["customer"]
    if owner and owner != customer:
        raise invalid_request(
            f"The provided PaymentMethod {payment_method['id']} belongs to another Customer"
            if customer else
            "The provided PaymentMethod was previously attached to a Customer; provide that "
            "Customer's ID in the `customer` parameter.", param="payment_method")


def _check_confirmable(intent):
    if intent["status"] not in UNCONFIRMED:
        raise unexpected_state(
            f"You cannot confirm this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
            f"confirmed: {', '.join(UNCONFIRMED)}.", copy.deepcopy(intent))


def _confirm(ctx, intent, no_action=False, authenticated=False):
    """Charge the intent's payment method: succeed, authorize for capture, or decline (402).
    A card that needs 3-D Secure and is not `authenticated` stops at `requires_action` instead,
    or is declined when the confirmation may not wait for the customer (`no_action`)."""
    _check_confirmable(intent)
    if not intent["payment_method"]:
        raise unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To "
            "confirm the PaymentIntent, specify a payment method.", copy.deepcopy(intent))
    payment_method = ctx.get("payment_method", intent["payment_method"], label="PaymentMethod")
    card = test_card(payment_method)
    if card.authentication and not authenticated:
        if not no_action:
            _require_action(ctx, intent)
            return
        decline = "authentication_required"
    else:
        forced = ctx.state.forced_declines
        decline = forced.pop(intent["id"], None) or forced.pop(None, None) or card.decline
    charge = _new_charge(ctx, intent, payment_method, decline,
                         authenticated=card.authentication and authenticated)
    intent["latest_charge"] = charge["id"]
    if decline:
        _decline(ctx, intent, charge, payment_method, decline)
    intent.update(last_payment_error=None, next_action=None)
    if intent["capture_method"] == "manual":
        intent.update(status="requires_capture", amount_capturable=intent["amount"])
        emit(ctx, "charge.succeeded", charge)
        emit(ctx, "payment_intent.amount_capturable_updated", intent)
    else:
        _capture_charge(ctx, charge, intent["amount"], card.bypass_pending)
        intent.update(status="succeeded", amount_received=intent["amount"])
        emit(ctx, "charge.succeeded", charge)
        emit(ctx, "payment_intent.succeeded", intent)


def _require_action(ctx, intent):
    """Wait for the customer to pass the bank's 3-D Secure challenge, as Stripe.js would show it
    from `next_action` (its URL stands for the challenge: see the test control)."""
    intent.update(status="requires_action", last_payment_error=None, next_action={
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect",
                           "stripe_js": f"{ctx.base_url}/_test/3ds/{intent['id']}",
                           "source": new_id("src_")}})
    emit(ctx, "payment_intent.requires_action", intent)


def authenticate(ctx, intent, succeed=True):
    """The customer's answer to the 3-D Secure challenge of a `requires_action` intent (a test
    control). Passed, the payment goes on as a confirmation does: the same charge, statuses and
    events, or a decline the card network still makes (raised as the 402 StripeError, the intent
    then waiting for another payment method). Failed, the intent waits for another payment
    method, with Stripe's payment_intent_authentication_failure and no charge."""
    if succeed:
        intent["status"] = "requires_confirmation"
        _confirm(ctx, intent, authenticated=True)
        return intent
    payment_method = ctx.get("payment_method", intent["payment_method"], label="PaymentMethod")
    error = invalid_request(AUTHENTICATION_FAILED, code="payment_intent_authentication_failure",
                            payment_method=copy.deepcopy(payment_method))
    intent.update(status="requires_payment_method", payment_method=None, next_action=None,
                  last_payment_error=error.error)
    emit(ctx, "payment_intent.payment_failed", intent)
    return intent


def start_processing(ctx, intent, payment_method="pm_card_visa"):
    """Put an unconfirmed intent in `processing`, as Stripe's is while a confirmed payment awaits
    the card network's answer (a test control: this server otherwise answers at once). The test
    `payment_method` pays when the intent has none. It stays processing: confirm, capture and
    cancel are refused with Stripe's payment_intent_unexpected_state. A card that needs 3-D
    Secure counts as authenticated: a payment in flight is past the customer's part."""
    _check_confirmable(intent)
    if not intent["payment_method"]:
        intent["payment_method"] = resolve_payment_method(ctx, payment_method)["id"]
    intent.update(status="processing", last_payment_error=None, next_action=None)
    emit(ctx, "payment_intent.processing", intent)
    return intent


def finish_processing(ctx, intent):
    """The card network's answer to a `processing` intent arrives (a test control): the
    payment goes through as a confirmation would have (captured or authorized)."""
    intent["status"] = "requires_confirmation"
    _confirm(ctx, intent, authenticated=True)
    return intent


def _new_charge(ctx, intent, payment_method, decline, authenticated=False):
    fields = dict(
        amount=intent["amount"], currency=intent["currency"],
        billing_details=copy.deepcopy(payment_method["billing_details"]),
        customer=intent["customer"], description=intent["description"],
        metadata=dict(intent["metadata"]),
        outcome=shapes.charge_outcome(decline),
        paid=not decline, status="failed" if decline else "succeeded",
        payment_intent=intent["id"], payment_method=payment_method["id"],
        payment_method_details=shapes.card_payment_details(payment_method["card"],
                                                           intent["amount"]),
        receipt_email=intent["receipt_email"],
        statement_descriptor=intent["statement_descriptor"],
        statement_descriptor_suffix=intent["statement_descriptor_suffix"],
        transfer_group=intent["transfer_group"])
    if decline:
        fields.update(failure_code=DECLINES[decline][0], failure_message=DECLINES[decline][1])
    if authenticated:
        fields["payment_method_details"]["card"]["three_d_secure"] = shapes.three_d_secure(
            str(uuid.uuid4()))
    return ctx.ledger.put(shapes.charge(new_id("ch_"), ctx.now(), **fields))


def _decline(ctx, intent, charge, payment_method, decline):
    code, message = DECLINES[decline]
    error = StripeError(402, "card_error", message, code=code, decline_code=decline,
                        charge=charge["id"], payment_method=copy.deepcopy(payment_method))
    intent.update(status="requires_payment_method", payment_method=None, next_action=None,
                  last_payment_error=copy.deepcopy(error.error))
    emit(ctx, "charge.failed", charge)
    emit(ctx, "payment_intent.payment_failed", intent)
    error.error["payment_intent"] = copy.deepcopy(intent)
    raise error


def _capture_charge(ctx, charge, amount, available_now=False):
    fee = balances.card_fee(amount)
    txn = balances.record(ctx, ctx.ledger, "charge", amount, charge["currency"], charge["id"],
                          available_on=balances.card_available_on(ctx, available_now), fee=fee,
                          description=charge["description"])
    charge.update(captured=True, amount_captured=amount, balance_transaction=txn["id"],
                  # Stripe releases what a partial capture leaves, reported as refunded.
                  amount_refunded=charge["amount"] - amount)


@ROUTES.route("POST", "/v1/payment_intents/{pi_id}/capture")
def capture_payment_intent(ctx, params, pi_id):
    params.allow("amount_to_capture", "metadata")
    intent = ctx.get("payment_intent", pi_id, param="intent")
    if intent["status"] != "requires_capture":
        raise unexpected_state(
            f"This PaymentIntent could not be captured because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
            "captured: requires_capture.", copy.deepcopy(intent))
    amount = params.integer("amount_to_capture", minimum=1, default=intent["amount_capturable"])
    if amount > intent["amount_capturable"]:
        raise invalid_request(
            "The amount to capture must be less than or equal to the PaymentIntent's "
            f"amount_capturable ({intent['amount_capturable']}).",
            param="amount_to_capture", code="amount_too_large")
    charge = ctx.get("charge", intent["latest_charge"])
    payment_method = ctx.ledger.get("payment_method", charge["payment_method"])
    _capture_charge(ctx, charge, amount, test_card(payment_method).bypass_pending)
    intent.update(status="succeeded", amount_received=amount, amount_capturable=0,
                  metadata=params.metadata(intent["metadata"]))
    emit(ctx, "charge.captured", charge)
    emit(ctx, "payment_intent.succeeded", intent)
    return intent


@ROUTES.route("POST", "/v1/payment_intents/{pi_id}/cancel")
def cancel_payment_intent(ctx, params, pi_id):
    params.allow("cancellation_reason")
    reason = params.string("cancellation_reason", choices=(
        "duplicate", "fraudulent", "requested_by_customer", "abandoned"))
    intent = ctx.get("payment_intent", pi_id, param="intent")
    if intent["status"] not in CANCELABLE:
        raise unexpected_state(
            f"You cannot cancel this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
            f"canceled: {', '.join(CANCELABLE)}.", copy.deepcopy(intent))
    if intent["status"] == "requires_capture":
        # Canceling releases the authorization: Stripe reports the charge as fully refunded.
        charge = ctx.get("charge", intent["latest_charge"])
        charge.update(amount_refunded=charge["amount"], refunded=True)
        emit(ctx, "charge.refunded", charge)
    intent.update(status="canceled", canceled_at=ctx.now(), cancellation_reason=reason,
                  amount_capturable=0, next_action=None)
    emit(ctx, "payment_intent.canceled", intent)
    return intent


# --- charges -----------------------------------------------------------------------------------

@ROUTES.route("GET", "/v1/charges/{charge_id}")
def retrieve_charge(ctx, params, charge_id):
    params.allow()
    return ctx.get("charge", charge_id, param="charge")


@ROUTES.route("POST", "/v1/charges/{charge_id}")
def update_charge(ctx, params, charge_id):
    params.allow("description", "metadata", "receipt_email", "transfer_group")
    charge = ctx.get("charge", charge_id, param="charge")
    charge["metadata"] = params.metadata(charge["metadata"])
    for name in ("description", "receipt_email", "transfer_group"):
        if params.has(name):
            charge[name] = params.string(name)
    return charge


@ROUTES.route("GET", "/v1/charges")
def list_charges(ctx, params):
    charges = ctx.ledger.all("charge")
    for name in ("customer", "payment_intent", "transfer_group"):
        if params.string(name):
            charges = [c for c in charges if c[name] == params.string(name)]
    return paginate(params, charges, "/v1/charges", "customer", "payment_intent",
                    "transfer_group")


# --- refunds -----------------------------------------------------------------------------------

def _refundable_charge(ctx, params):
    charge_id, pi_id = params.string("charge"), params.string("payment_intent")
    if not charge_id and not pi_id:
        raise validation_error("One of the following params should be provided for this request: "
                               "payment_intent or charge.")
    if pi_id:
        intent = ctx.get("payment_intent", pi_id, param="payment_intent")
        if intent["status"] != "succeeded":
            raise invalid_request(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                param="payment_intent")
        charge = ctx.get("charge", intent["latest_charge"])
        if charge_id and charge_id != charge["id"]:
            raise invalid_request(f"Charge {charge_id} does not belong to PaymentIntent {pi_id}.",
                                  param="charge")
        return charge
    charge = ctx.get("charge", charge_id, param="charge")
    if charge["status"] != "succeeded" or not charge["captured"]:
        raise invalid_request(f"Charge {charge_id} has not been captured and cannot be refunded.",
                              param="charge", code="charge_not_refundable")
    return charge


@ROUTES.route("POST", "/v1/refunds")
def create_refund(ctx, params):
    params.allow("amount", "charge", "payment_intent", "reason", "metadata")
    charge = _refundable_charge(ctx, params)
    if disputes.charged_back(ctx.ledger, charge):
        raise invalid_request(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed")
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining == 0:
        raise invalid_request(f"Charge {charge['id']} has already been refunded.",
                              code="charge_already_refunded")
    amount = params.integer("amount", minimum=1, default=remaining)
    if amount > remaining:
        raise invalid_request(
            f"Refund amount ({amount / 100:.2f} {charge['currency']}) is greater than unrefunded "
            f"amount on charge ({remaining / 100:.2f} {charge['currency']})",
            param="amount", code="amount_too_large")
    reason = params.string("reason", choices=("duplicate", "fraudulent", "requested_by_customer"))
    metadata = params.metadata()  # read before money moves, as in connect.create_transfer
    refund_id = new_id("re_")
    txn = balances.record(ctx, ctx.ledger, "refund", -amount, charge["currency"], refund_id,
                          description="REFUND FOR CHARGE")
    refund = ctx.ledger.put(shapes.refund(
        refund_id, ctx.now(), amount=amount, balance_transaction=txn["id"], charge=charge["id"],
        currency=charge["currency"], metadata=metadata,
        payment_intent=charge["payment_intent"], payment_method=charge["payment_method"],
        reason=reason))
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
    emit(ctx, "refund.created", refund)
    emit(ctx, "charge.refunded", charge)
    return refund


@ROUTES.route("GET", "/v1/refunds/{refund_id}")
def retrieve_refund(ctx, params, refund_id):
    params.allow()
    return ctx.get("refund", refund_id)


@ROUTES.route("POST", "/v1/refunds/{refund_id}")
def update_refund(ctx, params, refund_id):
    params.allow("metadata")
    refund = ctx.get("refund", refund_id)
    refund["metadata"] = params.metadata(refund["metadata"])
    return refund


@ROUTES.route("GET", "/v1/refunds")
def list_refunds(ctx, params):
    refunds = ctx.ledger.all("refund")
    for name in ("charge", "payment_intent"):
        if params.string(name):
            refunds = [r for r in refunds if r[name] == params.string(name)]
    return paginate(params, refunds, "/v1/refunds", "charge", "payment_intent")
