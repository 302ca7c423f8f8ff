"""Balance transactions and balances: where money moved, and when it becomes available.

Every movement of funds (a captured charge, a refund, a transfer, a payout, a dispute's withdrawal
or reinstatement) writes a balance transaction on the account it affects. Card payments stay
`pending` for two days like Stripe's test mode (`pm_card_bypassPending` makes them available at
once), so advancing the test clock is what turns pending funds into available ones; `settle`
applies that on every request.
"""

from . import shapes
from .api import ROUTES, paginate
from .store import new_id

DAY = 24 * 3600
CARD_PENDING_DAYS = 2
# Reporting categories of the balance transaction types this server writes.
_CATEGORIES = {"charge": "charge", "refund": "refund", "transfer": "transfer",
               "transfer_refund": "transfer_reversal", "payment": "charge",
               "payment_refund": "refund", "payout": "payout",
               "payout_failure": "payout_reversal", "adjustment": "other_adjustment"}


def card_fee(amount):
    """Stripe's standard US card pricing, which test mode also applies: 2.9 % + 30¢."""
    return round(amount * 0.029) + 30


def record(ctx, ledger, type_, amount, currency, source, available_on=None, fee=0,
           description=None, fee_description="Stripe processing fees", reporting_category=None):
    """Write a balance transaction of `amount` (signed) on `ledger`; its `fee` (signed: a fee given
    back is negative) comes off the net. `reporting_category` defaults from the type, for types
    such as `adjustment` whose category depends on what moved the funds."""
    now = ctx.now()
    fee_details = [] if not fee else [{
        "amount": fee, "application": None, "currency": currency,
        "description": fee_description, "type": "stripe_fee"}]
    available_on = now if available_on is None else available_on
    return ledger.put(shapes.balance_transaction(
        new_id("txn_"), now, amount=amount, available_on=available_on, currency=currency,
        description=description, fee=fee, fee_details=fee_details, net=amount - fee,
        reporting_category=reporting_category or _CATEGORIES[type_], source=source,
        status="available" if available_on <= now else "pending", type=type_))


def card_available_on(ctx, immediately=False):
    return ctx.now() if immediately else ctx.now() + CARD_PENDING_DAYS * DAY


def settle(state):
    """Make every pending transaction whose day has come available, on all accounts."""
    now = state.now()
    for ledger in state.ledgers.values():
        for txn in ledger.all("balance_transaction"):
            if txn["status"] == "pending" and txn["available_on"] <= now:
                txn["status"] = "available"


def amounts(ledger):
    """({currency: available}, {currency: pending}) of one account."""
    available, pending = {}, {}
    for txn in ledger.all("balance_transaction"):
        bucket = available if txn["status"] == "available" else pending
        bucket[txn["currency"]] = bucket.get(txn["currency"], 0) + txn["net"]
    return available, pending


@ROUTES.route("GET", "/v1/balance")
def retrieve_balance(ctx, params):
    params.allow()
    return shapes.balance(*amounts(ctx.ledger))


@ROUTES.route("GET", "/v1/balance_transactions/{txn_id}")
def retrieve_balance_transaction(ctx, params, txn_id):
    params.allow()
    return ctx.get("balance_transaction", txn_id, label="balance transaction")


@ROUTES.route("GET", "/v1/balance_transactions")
def list_balance_transactions(ctx, params):
    txns = ctx.ledger.all("balance_transaction")
    for name in ("source", "type", "currency"):
        if params.string(name):
            txns = [t for t in txns if t[name] == params.string(name)]
    return paginate(params, txns, "/v1/balance_transactions", "source", "type", "currency")
