"""Connect: connected accounts, onboarding links, transfers, transfer reversals and payouts.

The platform's view follows Stripe's "separate charges and transfers": a connected account is
created unverified (charges and payouts disabled) and becomes usable once onboarding completes,
which here happens when its account link is visited or a test control says so, and is announced
by an `account.updated` event on that account. Transfers move funds from the platform's balance
(or from a given charge, `source_transaction`, even while its funds are pending) to the connected
account, where they arrive as a `py_…` payment; reversals move them back. Payouts, made on a
connected account through the `Stripe-Account` header, pay its available balance out to its bank
account and become `paid` on their arrival date by the test clock.
"""

import copy
import dataclasses
import secrets

from . import balances, shapes
from .api import ROUTES, Context, paginate
from .errors import balance_insufficient, invalid_request, resource_missing
from .events import emit
from .store import PLATFORM, new_id

ACCOUNT_LINK_TTL = 300  # Stripe's account links expire after about five minutes
PAYOUT_DELAY = 24 * 3600  # a standard payout arrives the next day in test mode


def _on_account(ctx, account_id):
    """The same request, acting on a connected account (for its events and ledger)."""
    return dataclasses.replace(ctx, account=account_id)


def _connected_account(ctx, account_id, param="account"):
    account = ctx.platform.get("account", account_id) if isinstance(account_id, str) else None
    if account is None:
        raise resource_missing("account", account_id, param)
    return account


# --- accounts ----------------------------------------------------------------------------------

_CONTROLLERS = {
    "express": {"fees": {"payer": "application_express"}, "is_controller": True,
                "losses": {"payments": "application"}, "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "express"}, "type": "application"},
    "custom": {"fees": {"payer": "application"}, "is_controller": True,
               "losses": {"payments": "application"}, "requirement_collection": "application",
               "stripe_dashboard": {"type": "none"}, "type": "application"},
    "standard": {"is_controller": False, "type": "account"},
}
_PROFILE_FIELDS = ("mcc", "name", "product_description", "support_email", "support_phone",
                   "support_url", "url")


def _apply_account_params(account, params):
    if params.has("email"):
        account["email"] = params.string("email")
    if params.has("business_type"):
        account["business_type"] = params.string("business_type", choices=(
            "individual", "company", "non_profit", "government_entity"))
    profile = params.hash("business_profile")
    for name in _PROFILE_FIELDS:
        if profile and profile.has(name):
            account["business_profile"][name] = profile.string(name)
    capabilities = params.hash("capabilities")
    for name in (capabilities.data if capabilities else {}):
        wanted = capabilities.hash(name)
        if wanted and wanted.boolean("requested"):
            account["capabilities"].setdefault(
                name, "active" if account["charges_enabled"] else "inactive")
        else:
            account["capabilities"].pop(name, None)
    settings = params.hash("settings")
    payouts = settings.hash("payouts") if settings else None
    schedule = payouts.hash("schedule") if payouts else None
    if schedule:
        # The platform sets a connected account's payout schedule: `manual` means its owner
        # (through the platform) withdraws by creating payouts.
        wanted = account["settings"]["payouts"]["schedule"]
        if schedule.has("interval"):
            wanted["interval"] = schedule.string(
                "interval", choices=("manual", "daily", "weekly", "monthly"))
        if schedule.has("delay_days"):
            wanted["delay_days"] = schedule.integer("delay_days", minimum=2)
    account["metadata"] = params.metadata(account["metadata"])


_ACCOUNT_PARAMS = ("email", "business_type", "business_profile", "capabilities", "metadata",
                   "settings")


@ROUTES.route("POST", "/v1/accounts")
def create_account(ctx, params):
    params.allow("type", "country", "default_currency", *_ACCOUNT_PARAMS)
    type_ = params.string("type", default="express", choices=("express", "custom", "standard"))
    account = shapes.account(
        new_id("acct_", 16), ctx.now(), type=type_,
        controller=copy.deepcopy(_CONTROLLERS[type_]),
        country=params.string("country", default="US").upper(),
        default_currency=params.currency("default_currency", required=False) or "usd")
    if params.has("capabilities"):
        account["capabilities"] = {}  # exactly those requested, instead of the usual pair
    _apply_account_params(account, params)
    return ctx.platform.put(account)


@ROUTES.route("GET", "/v1/accounts/{account_id}")
def retrieve_account(ctx, params, account_id):
    params.allow()
    if ctx.account not in (PLATFORM, account_id):
        raise resource_missing("account", account_id)
    return _connected_account(ctx, account_id, "id")


@ROUTES.route("GET", "/v1/account")
def retrieve_own_account(ctx, params):
    """The connected account named by Stripe-Account, or the platform's own account."""
    params.allow()
    if ctx.account != PLATFORM:
        return _connected_account(ctx, ctx.account, "id")
    return ctx.app.platform_account()


@ROUTES.route("POST", "/v1/accounts/{account_id}")
def update_account(ctx, params, account_id):
    params.allow(*_ACCOUNT_PARAMS)
    account = _connected_account(ctx, account_id, "id")
    before = copy.deepcopy(account)
    _apply_account_params(account, params)
    _announce_update(ctx, account, before)
    return account


@ROUTES.route("GET", "/v1/accounts")
def list_accounts(ctx, params):
    return paginate(params, ctx.platform.all("account"), "/v1/accounts")


def _announce_update(ctx, account, before):
    """Emit `account.updated` on the account, with the attributes it had before, if any changed."""
    previous = {k: v for k, v in before.items() if account[k] != v}
    if previous:
        emit(_on_account(ctx, account["id"]), "account.updated", account, previous)


def set_onboarding(ctx, account, charges_enabled=True, payouts_enabled=True,
                   details_submitted=True, currently_due=None):
    """Move an account to the given verification state, as Stripe does once its owner has (or
    has not) given everything onboarding asks for; what is still due defaults from the flags."""
    before = copy.deepcopy(account)
    if currently_due is None:
        currently_due = [] if charges_enabled and payouts_enabled else shapes.ONBOARDING_DUE
    capabilities = account["capabilities"]
    account.update(
        charges_enabled=charges_enabled, payouts_enabled=payouts_enabled,
        details_submitted=details_submitted,
        requirements=shapes.account_requirements(currently_due),
        capabilities={name: "active" if charges_enabled else "inactive" for name in capabilities})
    if details_submitted:
        account["business_type"] = account["business_type"] or "individual"
        account["tos_acceptance"] = {"date": ctx.now(), "ip": "127.0.0.1", "user_agent": None}
    banks = account["external_accounts"]["data"]
    if payouts_enabled and not banks:
        banks.append(shapes.bank_account(new_id("ba_"), account["id"]))
    _announce_update(ctx, account, before)
    return account


# --- account links -----------------------------------------------------------------------------

@ROUTES.route("POST", "/v1/account_links")
def create_account_link(ctx, params):
    params.allow("account", "type", "refresh_url", "return_url", "collect", "collection_options")
    account = _connected_account(ctx, params.string("account", required=True))
    params.string("type", required=True, choices=("account_onboarding", "account_update"))
    token = secrets.token_urlsafe(16)
    now = ctx.now()
    ctx.state.onboarding_links[token] = {
        "account": account["id"], "expires_at": now + ACCOUNT_LINK_TTL, "used": False,
        "return_url": params.string("return_url"), "refresh_url": params.string("refresh_url")}
    return shapes.account_link(now, now + ACCOUNT_LINK_TTL,
                               f"{ctx.base_url}/_test/onboarding/{token}")


def visit_account_link(ctx, token):
    """What visiting an account link does: a fresh link completes onboarding and leads to its
    return_url; a used or expired one leads to its refresh_url, as Stripe's hosted page does.
    Returns (completed, url to redirect to)."""
    link = ctx.state.onboarding_links.get(token)
    if link is None:
        return False, None
    if link["used"] or ctx.now() > link["expires_at"]:
        return False, link["refresh_url"]
    link["used"] = True
    set_onboarding(ctx, ctx.platform.get("account", link["account"]))
    return True, link["return_url"]


# --- transfers ---------------------------------------------------------------------------------

def _transferable_from(ctx, charge):
    """What is left of a charge to transfer: not refunded (nor released uncaptured, which Stripe
    also counts as refunded) and not yet transferred (what a reversal took back counts as not
    transferred: it is the platform's again)."""
    already = sum(t["amount"] - t["amount_reversed"] for t in ctx.platform.all("transfer")
                  if t["source_transaction"] == charge["id"])
    return charge["amount"] - charge["amount_refunded"] - already


@ROUTES.route("POST", "/v1/transfers")
def create_transfer(ctx, params):
    params.allow("amount", "currency", "destination", "transfer_group", "source_transaction",
                 "description", "metadata")
    amount = params.integer("amount", required=True, minimum=1)
    currency = params.currency()
    # Every parameter is read before money moves: a malformed one is refused before execution
    # (not stored under the idempotency key), so it must not leave a half-made transfer.
    description, metadata = params.string("description"), params.metadata()
    transfer_group = params.string("transfer_group")
    destination = ctx.platform.get("account", params.string("destination", required=True))
    if destination is None:
        raise invalid_request(f"No such destination: '{params.string('destination')}'",
                              param="destination", code="resource_missing")
    if destination["capabilities"].get("transfers") != "active":
        raise invalid_request(
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            param="destination", code="insufficient_capabilities_for_transfer")
    available_on = None
    source_id = params.string("source_transaction")
    if source_id:
        charge = ctx.get("charge", source_id, param="source_transaction")
        if charge["status"] != "succeeded" or not charge["captured"]:
            raise invalid_request("The source_transaction must be a captured, successful charge.",
                                  param="source_transaction")
        if charge["currency"] != currency:
            raise invalid_request(
                f"The currency of source_transaction's balance transaction ({charge['currency']}) "
                f"must be the same as the transfer currency ({currency})", param="currency")
        left = _transferable_from(ctx, charge)
        if amount > left:
            raise invalid_request(
                f"Transfer amount ({amount}) exceeds the amount left to transfer from "
                f"{source_id} ({left}).", param="amount", code="amount_too_large")
        # Funds transferred from a charge become available when the charge's funds do.
        available_on = ctx.get("balance_transaction", charge["balance_transaction"])["available_on"]
    elif balances.amounts(ctx.platform)[0].get(currency, 0) < amount:
        raise balance_insufficient(
            "You have insufficient available funds in your Stripe account. Try adding funds "
            "directly to your available balance by creating Charges using the 4000000000000077 "
            "test card. See: https://stripe.com/docs/testing#available-balance")
    transfer_id = new_id("tr_")
    txn = balances.record(ctx, ctx.platform, "transfer", -amount, currency, transfer_id,
                          available_on=available_on)
    payment = _destination_payment(ctx, destination, transfer_id, amount, currency, available_on)
    transfer = ctx.platform.put(shapes.transfer(
        transfer_id, ctx.now(), amount=amount, balance_transaction=txn["id"], currency=currency,
        description=description, destination=destination["id"],
        destination_payment=payment["id"], metadata=metadata,
        source_transaction=source_id, transfer_group=transfer_group))
    emit(ctx, "transfer.created", transfer)
    return transfer


def _destination_payment(ctx, destination, transfer_id, amount, currency, available_on):
    """The `py_…` payment a transfer makes on the connected account, with its balance entry."""
    ledger = ctx.state.ledger(destination["id"])
    payment_id = new_id("py_")
    txn = balances.record(ctx, ledger, "payment", amount, currency, payment_id,
                          available_on=available_on)
    return ledger.put(shapes.charge(
        payment_id, ctx.now(), amount=amount, amount_captured=amount, captured=True,
        balance_transaction=txn["id"], currency=currency, paid=True, status="succeeded",
        payment_method_details={"stripe_account": {}, "type": "stripe_account"},
        source_transfer=transfer_id))


@ROUTES.route("GET", "/v1/transfers/{transfer_id}")
def retrieve_transfer(ctx, params, transfer_id):
    params.allow()
    return ctx.get("transfer", transfer_id)


@ROUTES.route("POST", "/v1/transfers/{transfer_id}")
def update_transfer(ctx, params, transfer_id):
    params.allow("description", "metadata")
    transfer = ctx.get("transfer", transfer_id)
    if params.has("description"):
        transfer["description"] = params.string("description")
    transfer["metadata"] = params.metadata(transfer["metadata"])
    return transfer


@ROUTES.route("GET", "/v1/transfers")
def list_transfers(ctx, params):
    transfers = ctx.ledger.all("transfer")
    for name in ("destination", "transfer_group"):
        if params.string(name):
            transfers = [t for t in transfers if t[name] == params.string(name)]
    return paginate(params, transfers, "/v1/transfers", "destination", "transfer_group")


@ROUTES.route("POST", "/v1/transfers/{transfer_id}/reversals")
def create_transfer_reversal(ctx, params, transfer_id):
    params.allow("amount", "description", "metadata", "refund_application_fee")
    transfer = ctx.get("transfer", transfer_id, param="id")
    left = transfer["amount"] - transfer["amount_reversed"]
    if left == 0:
        raise invalid_request(f"Transfer {transfer_id} has already been fully reversed.",
                              code="transfer_already_reversed")
    amount = params.integer("amount", minimum=1, default=left)
    if amount > left:
        raise invalid_request(
            f"Transfer reversal amount ({amount}) is greater than the amount left to reverse "
            f"({left}).", param="amount", code="amount_too_large")
    metadata = params.metadata()  # read before money moves, as in create_transfer
    currency = transfer["currency"]
    # Reversed funds move back in the state the transfer moved them: pending stays pending.
    available_on = ctx.get("balance_transaction", transfer["balance_transaction"])["available_on"]
    reversal_id = new_id("trr_")
    txn = balances.record(ctx, ctx.platform, "transfer_refund", amount, currency, reversal_id,
                          available_on=available_on)
    destination = ctx.state.ledger(transfer["destination"])
    payment = destination.get("charge", transfer["destination_payment"])
    payment["amount_refunded"] += amount
    payment["refunded"] = payment["amount_refunded"] == payment["amount"]
    payment_refund_id = new_id("pyr_")
    balances.record(ctx, destination, "payment_refund", -amount, currency, payment_refund_id,
                    available_on=available_on)
    reversal = ctx.platform.put(shapes.transfer_reversal(
        reversal_id, ctx.now(), amount=amount, balance_transaction=txn["id"], currency=currency,
        destination_payment_refund=payment_refund_id, metadata=metadata,
        transfer=transfer_id))
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    transfer["reversals"]["data"].insert(0, copy.deepcopy(reversal))
    emit(ctx, "transfer.reversed", transfer)
    return reversal


@ROUTES.route("GET", "/v1/transfers/{transfer_id}/reversals")
def list_transfer_reversals(ctx, params, transfer_id):
    ctx.get("transfer", transfer_id)
    reversals = [r for r in ctx.ledger.all("transfer_reversal") if r["transfer"] == transfer_id]
    return paginate(params, reversals, f"/v1/transfers/{transfer_id}/reversals")


@ROUTES.route("GET", "/v1/transfers/{transfer_id}/reversals/{reversal_id}")
def retrieve_transfer_reversal(ctx, params, transfer_id, reversal_id):
    params.allow()
    reversal = ctx.get("transfer_reversal", reversal_id)
    if reversal["transfer"] != transfer_id:
        raise resource_missing("transfer_reversal", reversal_id)
    return reversal


# --- payouts -----------------------------------------------------------------------------------

@ROUTES.route("POST", "/v1/payouts")
def create_payout(ctx, params):
    params.allow("amount", "currency", "description", "metadata", "method",
                 "statement_descriptor")
    amount = params.integer("amount", required=True, minimum=1)
    currency = params.currency()
    method = params.string("method", default="standard", choices=("standard", "instant"))
    # Read before money moves, as in create_transfer.
    description, metadata = params.string("description"), params.metadata()
    statement_descriptor = params.string("statement_descriptor")
    if ctx.account == PLATFORM:
        bank = ctx.app.platform_bank_account
    else:
        account = _connected_account(ctx, ctx.account)
        banks = account["external_accounts"]["data"]
        if not account["payouts_enabled"] or not banks:
            raise invalid_request("Payouts are not allowed for this account: its onboarding is "
                                  "not complete.", code="payouts_not_allowed")
        bank = banks[0]["id"]
    if balances.amounts(ctx.ledger)[0].get(currency, 0) < amount:
        raise balance_insufficient(
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low. You can use the /v1/balance endpoint to view your Stripe "
            "balance (for more details, see stripe.com/docs/api#balance).")
    payout_id = new_id("po_")
    txn = balances.record(ctx, ctx.ledger, "payout", -amount, currency, payout_id,
                          description=description)
    now = ctx.now()
    payout = ctx.ledger.put(shapes.payout(
        payout_id, now, amount=amount, balance_transaction=txn["id"], currency=currency,
        arrival_date=now if method == "instant" else now + PAYOUT_DELAY,
        description=description, destination=bank, metadata=metadata, method=method,
        statement_descriptor=statement_descriptor))
    emit(ctx, "payout.created", payout)
    return payout


@ROUTES.route("GET", "/v1/payouts/{payout_id}")
def retrieve_payout(ctx, params, payout_id):
    params.allow()
    return ctx.get("payout", payout_id)


@ROUTES.route("GET", "/v1/payouts")
def list_payouts(ctx, params):
    payouts = ctx.ledger.all("payout")
    if params.string("status"):
        payouts = [p for p in payouts if p["status"] == params.string("status")]
    return paginate(params, payouts, "/v1/payouts", "status")


@ROUTES.route("POST", "/v1/payouts/{payout_id}/cancel")
def cancel_payout(ctx, params, payout_id):
    params.allow()
    payout = ctx.get("payout", payout_id)
    if payout["status"] != "pending":
        raise invalid_request("Payouts can only be canceled while they are pending.")
    txn = balances.record(ctx, ctx.ledger, "payout_failure", payout["amount"],
                          payout["currency"], payout_id)
    payout.update(status="canceled", failure_balance_transaction=txn["id"])
    emit(ctx, "payout.canceled", payout)
    return payout


def fail_payout(ctx, payout, code="account_closed", message="The bank account has been closed."):
    """Make a payout fail as a bank would return it: funds back in the balance, `payout.failed`."""
    txn = balances.record(ctx, ctx.ledger, "payout_failure", payout["amount"],
                          payout["currency"], payout["id"])
    payout.update(status="failed", failure_code=code, failure_message=message,
                  failure_balance_transaction=txn["id"])
    emit(ctx, "payout.failed", payout)
    return payout


def pay_payout(ctx, payout):
    """A payout reaches its bank (`payout.paid`)."""
    payout["status"] = "paid"
    emit(ctx, "payout.paid", payout)
    return payout


def settle(app):
    """Pay out every pending payout whose arrival date has come (`payout.paid`)."""
    now = app.state.now()
    for account, ledger in list(app.state.ledgers.items()):
        for payout in ledger.all("payout"):
            if payout["status"] == "pending" and payout["arrival_date"] <= now:
                pay_payout(Context(app, account), payout)
