"""Every object the server returns has every field of Stripe's own example of that object
(recursively, where both are objects), so async-stripe's generated types can parse it."""

import json
import os
import unittest

from .helpers import ServerTest

with open(os.path.join(os.path.dirname(__file__), "stripe_fixtures.json")) as fixtures:
    STRIPE_EXAMPLES = json.load(fixtures)["resources"]


class ShapeTest(ServerTest):
    def assertShape(self, kind, obj):
        missing = _missing_keys(STRIPE_EXAMPLES[kind], obj, kind)
        self.assertEqual(missing, [], f"{kind} lacks fields Stripe's example has")

    def test_payment_objects_have_every_field_of_stripes_examples(self):
        intent = self.paid_intent(metadata={"booking": "b1"})
        charge = self.ok("GET", f"/v1/charges/{intent['latest_charge']}")
        refund = self.ok("POST", "/v1/refunds", {"payment_intent": intent["id"], "amount": 500})
        self.assertShape("payment_intent", intent)
        self.assertShape("charge", charge)
        self.assertShape("refund", refund)
        self.assertShape("payment_method",
                         self.ok("GET", f"/v1/payment_methods/{intent['payment_method']}"))
        txn = self.ok("GET", f"/v1/balance_transactions/{charge['balance_transaction']}")
        self.assertShape("balance_transaction", txn)
        self.assertShape("balance", self.ok("GET", "/v1/balance"))
        for event in self.events():
            self.assertShape("event", event)
            self.assertShape(event["data"]["object"]["object"], event["data"]["object"])

    def test_disputes_and_3ds_intents_have_every_field_of_stripes_examples(self):
        intent = self.paid_intent()
        dispute = self.control("POST", f"/_test/charges/{intent['latest_charge']}/dispute")
        self.assertShape("dispute", dispute)
        self.assertShape("balance_transaction", dispute["balance_transactions"][0])
        self.ok("POST", f"/v1/disputes/{dispute['id']}", {"evidence": {"receipt": "file_1"}})
        self.assertShape("dispute", self.control("POST", f"/_test/disputes/{dispute['id']}/close",
                                                 {"outcome": "won"}))
        waiting = self.ok("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "confirm": True,
            "payment_method": "pm_card_authenticationRequired"})
        self.assertShape("payment_intent", waiting)
        failed = self.control("POST", f"/_test/payment_intents/{waiting['id']}/authenticate",
                              {"outcome": "fail"})
        self.assertShape("payment_intent", failed)
        self.assertShape("payment_method", failed["last_payment_error"]["payment_method"])
        for event in self.events():
            self.assertShape("event", event)
            self.assertShape(event["data"]["object"]["object"], event["data"]["object"])

    def test_customers_and_setup_intents_have_every_field_of_stripes_examples(self):
        customer = self.ok("POST", "/v1/customers", {"email": "c@example.com"})
        self.assertShape("customer", customer)
        intent = self.ok("POST", "/v1/setup_intents", {"customer": customer["id"]})
        self.assertShape("setup_intent", intent)
        waiting = self.ok("POST", f"/v1/setup_intents/{intent['id']}/confirm",
                          {"payment_method": "pm_card_authenticationRequired"})
        self.assertShape("setup_intent", waiting)
        self.assertShape("setup_intent",
                         self.control("POST", f"/_test/setup_intents/{intent['id']}/authenticate"))
        for event in self.events():
            self.assertShape("event", event)
            self.assertShape(event["data"]["object"]["object"], event["data"]["object"])

    def test_connect_objects_have_every_field_of_stripes_examples(self):
        account = self.ok("POST", "/v1/accounts", {"type": "express", "email": "p@example.com"})
        self.assertShape("account", account)
        link = self.ok("POST", "/v1/account_links", {
            "account": account["id"], "type": "account_onboarding",
            "refresh_url": "http://127.0.0.1:9/refresh", "return_url": "http://127.0.0.1:9/back"})
        self.assertShape("account_link", link)
        account = self.control("POST", f"/_test/accounts/{account['id']}/onboarding")
        self.assertShape("account", account)
        self.assertShape("bank_account", account["external_accounts"]["data"][0])
        intent = self.paid_intent(payment_method="pm_card_bypassPending")
        transfer = self.ok("POST", "/v1/transfers", {
            "amount": 1500, "currency": "usd", "destination": account["id"],
            "source_transaction": intent["latest_charge"]})
        self.assertShape("transfer", transfer)
        self.assertShape("transfer_reversal",
                         self.ok("POST", f"/v1/transfers/{transfer['id']}/reversals",
                                 {"amount": 100}))
        payout = self.ok("POST", "/v1/payouts", {"amount": 1000, "currency": "usd"},
                         headers={"Stripe-Account": account["id"]})
        self.assertShape("payout", payout)


def _missing_keys(example, obj, path):
    if not isinstance(example, dict) or not isinstance(obj, dict):
        return []
    missing = []
    for key, value in example.items():
        if key not in obj:
            missing.append(f"{path}.{key}")
        elif key not in ("metadata", "data", "object"):  # free-form or a different object
            missing += _missing_keys(value, obj[key], f"{path}.{key}")
    return missing


if __name__ == "__main__":
    unittest.main()
