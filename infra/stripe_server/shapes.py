"""The exact shape of every Stripe object this server returns.

async-stripe's generated types refuse an object that lacks a field they require, so each builder
below lists every field of Stripe's own example of that object (taken from the `fixtures3.json`
that Stripe publishes in its OpenAPI repository, MIT licence) with a realistic default: null where
the field does not apply to a test-mode card payment, the values real Stripe sends otherwise. A few
fields that the client types read but that example lacks are listed too (as null).

Builders take the object's id and creation time plus any field to override; an override naming a
field the shape does not have is a bug in the caller and raises at once. The test suite checks
every builder against a copy of Stripe's examples kept beside the tests.
"""

import copy


def _shape(defaults, overrides):
    unknown = set(overrides) - set(defaults)
    if unknown:
        raise KeyError(f"{defaults['object']} has no field(s) {sorted(unknown)}")
    defaults.update(overrides)
    return defaults


def _address():
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None,
            "state": None}


def empty_list(url):
    """A Stripe list object, as embedded in charges (refunds) and transfers (reversals)."""
    return {"object": "list", "data": [], "has_more": False, "url": url}


def billing_details():
    return {"address": _address(), "email": None, "name": None, "phone": None, "tax_id": None}


def card(brand, last4, country="US", funding="credit"):
    """The `card` hash of a PaymentMethod, for one of Stripe's test cards."""
    return {
        "brand": brand,
        "checks": {"address_line1_check": None, "address_postal_code_check": None,
                   "cvc_check": "pass"},
        "country": country,
        "display_brand": brand,
        "exp_month": 12,
        "exp_year": 2034,
        "fingerprint": "fp" + last4 + brand[:4],
        "funding": funding,
        "generated_from": None,
        "last4": last4,
        "networks": {"available": [brand], "preferred": None},
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
        "regulated_status": "unregulated",
    }


def payment_method(id, created, **fields):
    return _shape({
        "id": id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing_details(),
        "card": None,
        "created": created,
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }, fields)


def customer(id, created, **fields):
    return _shape({
        "id": id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": None,
        "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                             "footer": None, "rendering_options": None},
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }, fields)


def setup_intent(id, created, **fields):
    return _shape({
        "id": id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": None,
        "created": created,
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"mandate_options": None, "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": "off_session",
    }, fields)


def payment_intent(id, created, **fields):
    return _shape({
        "id": id,
        "object": "payment_intent",
        "amount": 0,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": None,
        "confirmation_method": "automatic",
        "created": created,
        "currency": "usd",
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "hooks": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_details": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "presentment_details": None,
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }, fields)


def charge_outcome(declined=None):
    """The `outcome` of a charge: authorized, or declined by the issuer with a decline code."""
    if declined is None:
        return {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                "risk_score": 20, "seller_message": "Payment complete.", "type": "authorized"}
    return {"advice_code": "try_again_later", "network_advice_code": None,
            "network_decline_code": None, "network_status": "declined_by_network",
            "reason": declined, "risk_level": "normal", "risk_score": 20,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined"}


def card_payment_details(pm_card, amount):
    """A charge's `payment_method_details` for a card PaymentMethod."""
    return {
        "card": {
            "amount_authorized": amount,
            "authorization_code": None,
            "brand": pm_card["brand"],
            "checks": copy.deepcopy(pm_card["checks"]),
            "country": pm_card["country"],
            "exp_month": pm_card["exp_month"],
            "exp_year": pm_card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": pm_card["fingerprint"],
            "funding": pm_card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": pm_card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": pm_card["brand"],
            "network_token": {"used": False},
            "network_transaction_id": None,
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "regulated_status": "unregulated",
            "three_d_secure": None,
            "transaction_link_id": None,
            "wallet": None,
        },
        "type": "card",
    }


def charge(id, created, **fields):
    return _shape({
        "id": id,
        "object": "charge",
        "amount": 0,
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "authorization_code": None,
        "balance_transaction": None,
        "billing_details": billing_details(),
        "calculated_statement_descriptor": None,
        "captured": False,
        "created": created,
        "currency": "usd",
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "level3": None,
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": None,
        "paid": False,
        "payment_intent": None,
        "payment_method": None,
        "payment_method_details": None,
        "presentment_details": None,
        "radar_options": None,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": empty_list(f"/v1/charges/{id}/refunds"),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "pending",
        "transfer": None,
        "transfer_data": None,
        "transfer_group": None,
    }, fields)


def three_d_secure(transaction_id):
    """A card charge's `three_d_secure` once the cardholder passed a 3-D Secure 2 challenge."""
    return {"authentication_flow": "challenge", "electronic_commerce_indicator": "05",
            "exemption_indicator": None, "exemption_indicator_applied": False,
            "result": "authenticated", "result_reason": None, "transaction_id": transaction_id,
            "version": "2.2.0"}


# The evidence a merchant can give against a dispute: text, or the id of an uploaded file.
DISPUTE_EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy",
    "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
    "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
    "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
    "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_documentation", "shipping_tracking_number",
    "uncategorized_file", "uncategorized_text")


def dispute_card_details(brand, network_reason_code, case_type="chargeback"):
    """A dispute's `payment_method_details` for a card payment on `brand`'s network."""
    return {"card": {"brand": brand, "case_type": case_type, "network": brand,
                     "network_reason_code": network_reason_code},
            "type": "card"}


def dispute(id, created, **fields):
    return _shape({
        "id": id,
        "object": "dispute",
        "amount": 0,
        "balance_transactions": [],  # whole BalanceTransactions, not ids
        "charge": None,
        "created": created,
        "currency": "usd",
        "enhanced_eligibility_types": [],
        "evidence": {**{name: None for name in DISPUTE_EVIDENCE_FIELDS},
                     "enhanced_evidence": {}},
        "evidence_details": {"due_by": None, "enhanced_eligibility": {}, "has_evidence": False,
                             "past_due": False, "submission_count": 0},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": None,
        "payment_intent": None,
        "payment_method_details": None,
        "reason": "general",
        "status": "needs_response",
    }, fields)


def balance_transaction(id, created, **fields):
    return _shape({
        "id": id,
        "object": "balance_transaction",
        "amount": 0,
        "available_on": created,
        "balance_type": "payments",
        "created": created,
        "currency": "usd",
        "description": None,
        "exchange_rate": None,
        "fee": 0,
        "fee_details": [],
        "net": 0,
        "reporting_category": "charge",
        "source": None,
        "status": "available",
        "type": "charge",
    }, fields)


def refund(id, created, **fields):
    return _shape({
        "id": id,
        "object": "refund",
        "amount": 0,
        "balance_transaction": None,
        "charge": None,
        "created": created,
        "currency": "usd",
        "customer": None,
        "customer_account": None,
        "destination_details": {
            "card": {"reference": None, "reference_status": "pending",
                     "reference_type": "acquirer_reference_number", "type": "refund"},
            "type": "card"},
        "metadata": {},
        "payment_intent": None,
        "payment_method": None,
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }, fields)


def event(id, created, **fields):
    return _shape({
        "id": id,
        "object": "event",
        "api_version": None,
        "created": created,
        "data": {"object": None},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": None,
    }, fields)


def bank_account(id, account, **fields):
    return _shape({
        "id": id,
        "object": "bank_account",
        "account": account,
        "account_holder_name": None,
        "account_holder_type": "individual",
        "account_type": None,
        "available_payout_methods": ["standard"],
        "bank_name": "STRIPE TEST BANK",
        "country": "US",
        "currency": "usd",
        "customer": None,
        "default_for_currency": True,
        "fingerprint": "fp6789" + id[-6:],
        "last4": "6789",
        "metadata": {},
        "routing_number": "110000000",
        "status": "new",
    }, fields)


def account_requirements(currently_due):
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(currently_due),
        "disabled_reason": "requirements.past_due" if currently_due else None,
        "errors": [],
        "eventually_due": list(currently_due),
        "past_due": list(currently_due),
        "pending_verification": [],
    }


# What Stripe asks of a fresh Express account in the US before it may take payments and payouts.
ONBOARDING_DUE = ["business_profile.mcc", "business_profile.url", "business_type",
                  "external_account", "representative.first_name", "representative.last_name",
                  "tos_acceptance.date", "tos_acceptance.ip"]


def account(id, created, **fields):
    return _shape({
        "id": id,
        "object": "account",
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": None,
            "minority_owned_business_designation": None,
            "name": None,
            "product_description": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": None,
        # The capabilities a marketplace's Express account is created with unless others are asked.
        "capabilities": {"card_payments": "inactive", "transfers": "inactive"},
        "charges_enabled": False,
        "controller": {
            "fees": {"payer": "application_express"},
            "is_controller": True,
            "losses": {"payments": "application"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "express"},
            "type": "application",
        },
        "country": "US",
        "created": created,
        "default_currency": "usd",
        "details_submitted": False,
        "email": None,
        "external_accounts": empty_list(f"/v1/accounts/{id}/external_accounts"),
        "future_requirements": account_requirements([]),
        "metadata": {},
        "payouts_enabled": False,
        "requirements": account_requirements(ONBOARDING_DUE),
        "settings": {
            "bacs_debit_payments": {"display_name": None, "service_user_number": None},
            "branding": {"icon": None, "logo": None, "primary_color": None,
                         "secondary_color": None},
            "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
            "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": None},
            "payments": {
                "statement_descriptor": None,
                "statement_descriptor_kana": None,
                "statement_descriptor_kanji": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            },
            "sepa_debit_payments": {},
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": "express",
    }, fields)


def account_link(created, expires_at, url):
    return {"object": "account_link", "created": created, "expires_at": expires_at, "url": url}


def transfer(id, created, **fields):
    return _shape({
        "id": id,
        "object": "transfer",
        "amount": 0,
        "amount_reversed": 0,
        "balance_transaction": None,
        "created": created,
        "currency": "usd",
        "description": None,
        "destination": None,
        "destination_payment": None,
        "livemode": False,
        "metadata": {},
        "reversals": empty_list(f"/v1/transfers/{id}/reversals"),
        "reversed": False,
        "source_transaction": None,
        "source_type": "card",
        "transfer_group": None,
    }, fields)


def transfer_reversal(id, created, **fields):
    return _shape({
        "id": id,
        "object": "transfer_reversal",
        "amount": 0,
        "balance_transaction": None,
        "created": created,
        "currency": "usd",
        "destination_payment_refund": None,
        "metadata": {},
        "source_refund": None,
        "transfer": None,
    }, fields)


def payout(id, created, **fields):
    return _shape({
        "id": id,
        "object": "payout",
        "amount": 0,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": created,
        "automatic": False,
        "balance_transaction": None,
        "created": created,
        "currency": "usd",
        "description": None,
        "destination": None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "trace_id": {"status": "pending", "value": None},
        "type": "bank_account",
    }, fields)


def balance(available, pending):
    """A Balance from {currency: amount} maps of available and pending funds."""
    def funds(amounts):
        return [{"amount": amount, "currency": currency, "source_types": {"card": amount}}
                for currency, amount in sorted(amounts.items())]
    currencies = sorted(set(available) | set(pending)) or ["usd"]
    return {
        "object": "balance",
        "available": funds({c: available.get(c, 0) for c in currencies}),
        "connect_reserved": [{"amount": 0, "currency": c} for c in currencies],
        "livemode": False,
        "pending": funds({c: pending.get(c, 0) for c in currencies}),
    }
