"""Disputes: a cardholder's bank taking a card payment back, and the merchant's answer.

Stripe opens a dispute when the cardholder's bank reports one; here a test control does
(`/_test/charges/{id}/dispute`), on the ledger of the disputed charge (the platform's, for the
separate charges and transfers this marketplace makes). It follows Stripe's chargeback:

    needs_response --POST /v1/disputes/{id}, evidence submitted--> under_review
    needs_response | under_review --test control--> won | lost
                                  --POST /v1/disputes/{id}/close (the merchant accepts)--> lost

Opening one marks the charge `disputed` and withdraws the disputed amount and Stripe's 15.00
dispute fee from the balance in one `adjustment` balance transaction (reporting category
`dispute`, the fee in its fee_details), as Stripe records it; a won dispute reinstates both in
another (`dispute_reversal`). The dispute lists them, whole, in `balance_transactions`, as Stripe
does. A charge whose dispute was not won cannot be refunded (400 charge_disputed, payments.py).

Events, each carrying the dispute: charge.dispute.created then charge.dispute.funds_withdrawn on
opening, charge.dispute.updated on each change made through the API (with previous_attributes),
charge.dispute.funds_reinstated then charge.dispute.closed when won, charge.dispute.closed when
lost.
"""

import copy

from . import balances, shapes
from .api import ROUTES, paginate
from .errors import invalid_request, parameter_unknown
from .events import emit
from .store import new_id

DAY = 24 * 3600
DISPUTE_FEE = 1500  # Stripe's 15.00 per dispute, taken in the charge's currency
EVIDENCE_DAYS = 7   # evidence is due by the end (UTC) of the seventh day after opening
OPEN = ("needs_response", "under_review")
# Reasons a cardholder's bank gives for disputing a card payment (the test control's choices).
REASONS = ("credit_not_processed", "duplicate", "fraudulent", "general", "product_not_received",
           "product_unacceptable", "subscription_canceled", "unrecognized")
# The card network's own code for a reason, where the network has one for it.
_NETWORK_REASON_CODES = {
    "visa": {"fraudulent": "10.4", "duplicate": "12.6.1", "product_not_received": "13.1",
             "subscription_canceled": "13.2", "product_unacceptable": "13.3",
             "credit_not_processed": "13.6"},
    "mastercard": {"fraudulent": "4837", "duplicate": "4834", "product_not_received": "4855",
                   "subscription_canceled": "4841", "product_unacceptable": "4853",
                   "credit_not_processed": "4860"},
}


def open_dispute_of(ledger, charge_id):
    """The charge's dispute still open on `ledger`, or None."""
    for dispute in ledger.all("dispute"):
        if dispute["charge"] == charge_id and dispute["status"] in OPEN:
            return dispute
    return None


def charged_back(ledger, charge):
    """Whether the charge has a dispute it has not won: Stripe then refuses to refund it."""
    return any(d["charge"] == charge["id"] and d["status"] != "won"
               for d in ledger.all("dispute"))


def open_dispute(ctx, charge, amount, reason):
    """The cardholder's bank disputes `amount` of a captured card charge on this ledger (a test
    control, which checks the charge): the amount and the dispute fee leave the balance at once."""
    card = charge["payment_method_details"]["card"]
    network_reason_code = _NETWORK_REASON_CODES.get(card["network"], {}).get(reason)
    now = ctx.now()
    dispute_id = new_id("dp_")
    txn = balances.record(
        ctx, ctx.ledger, "adjustment", -amount, charge["currency"], dispute_id, fee=DISPUTE_FEE,
        description=f"Chargeback withdrawal for {charge['id']}", fee_description="Dispute fee",
        reporting_category="dispute")
    dispute = shapes.dispute(
        dispute_id, now, amount=amount, balance_transactions=[copy.deepcopy(txn)],
        charge=charge["id"], currency=charge["currency"],
        network_reason_code=network_reason_code, payment_intent=charge["payment_intent"],
        payment_method_details=shapes.dispute_card_details(card["brand"], network_reason_code),
        reason=reason)
    dispute["evidence_details"]["due_by"] = (now // DAY + EVIDENCE_DAYS + 1) * DAY - 1
    ctx.ledger.put(dispute)
    charge["disputed"] = True
    emit(ctx, "charge.dispute.created", dispute)
    emit(ctx, "charge.dispute.funds_withdrawn", dispute)
    return dispute


def close(ctx, dispute, won):
    """The dispute ends (the bank decides, or the merchant accepts it): won, the amount and fee
    come back to the balance; lost, they stay withdrawn."""
    if won:
        charge = ctx.ledger.get("charge", dispute["charge"])
        txn = balances.record(
            ctx, ctx.ledger, "adjustment", dispute["amount"], dispute["currency"], dispute["id"],
            fee=-DISPUTE_FEE, description=f"Chargeback reversal for {dispute['charge']}",
            fee_description="Dispute fee refund", reporting_category="dispute_reversal")
        dispute["balance_transactions"].append(copy.deepcopy(txn))
        dispute.update(status="won",
                       is_charge_refundable=charge["amount_refunded"] < charge["amount"])
        emit(ctx, "charge.dispute.funds_reinstated", dispute)
    else:
        dispute["status"] = "lost"
    emit(ctx, "charge.dispute.closed", dispute)
    return dispute


# --- the API -----------------------------------------------------------------------------------

@ROUTES.route("GET", "/v1/disputes/{dispute_id}")
def retrieve_dispute(ctx, params, dispute_id):
    params.allow()
    return ctx.get("dispute", dispute_id, param="dispute")


@ROUTES.route("GET", "/v1/disputes")
def list_disputes(ctx, params):
    found = ctx.ledger.all("dispute")
    for name in ("charge", "payment_intent"):
        if params.string(name):
            found = [d for d in found if d[name] == params.string(name)]
    return paginate(params, found, "/v1/disputes", "charge", "payment_intent")


@ROUTES.route("POST", "/v1/disputes/{dispute_id}")
def update_dispute(ctx, params, dispute_id):
    """Stage or submit evidence (`evidence[...]`, a field sent empty is cleared), or change
    metadata. Evidence is submitted to the bank when `submit` is true, which is Stripe's default
    for a request that gives evidence: the dispute goes under review."""
    params.allow("evidence", "metadata", "submit")
    evidence = params.hash("evidence")
    given = {}
    for name in (evidence.data if evidence else {}):
        if name not in shapes.DISPUTE_EVIDENCE_FIELDS:
            raise parameter_unknown(f"evidence[{name}]")
        given[name] = evidence.string(name)
    submit = params.boolean("submit", default=None)
    submit = bool(given) if submit is None else submit
    dispute = ctx.get("dispute", dispute_id, param="dispute")
    metadata = params.metadata(dispute["metadata"])
    if (given or submit) and dispute["status"] != "needs_response":
        raise invalid_request(
            f"This dispute's status is {dispute['status']}: evidence can only be given or "
            "submitted while its status is needs_response.")
    before = copy.deepcopy(dispute)
    dispute["evidence"].update(given)
    dispute["metadata"] = metadata
    details = dispute["evidence_details"]
    details["has_evidence"] = any(dispute["evidence"][name] is not None
                                  for name in shapes.DISPUTE_EVIDENCE_FIELDS)
    if submit:
        details.update(submission_count=details["submission_count"] + 1,
                       past_due=ctx.now() > details["due_by"])
        dispute["status"] = "under_review"
    previous = {k: v for k, v in before.items() if dispute[k] != v}
    if previous:
        emit(ctx, "charge.dispute.updated", dispute, previous)
    return dispute


@ROUTES.route("POST", "/v1/disputes/{dispute_id}/close")
def close_dispute(ctx, params, dispute_id):
    """The merchant accepts the dispute: it is lost, irreversibly."""
    params.allow()
    dispute = ctx.get("dispute", dispute_id, param="dispute")
    if dispute["status"] not in OPEN:
        raise invalid_request(f"This dispute is already closed: its status is {dispute['status']}.")
    return close(ctx, dispute, won=False)
