"""Customers, SetupIntents and off-session payments on a saved card."""

import unittest

from .helpers import ServerTest


class SavedCardTest(ServerTest):
    def customer(self):
        return self.ok("POST", "/v1/customers", {"email": "c@example.com",
                                                 "metadata": {"user": "u1"}})

    def saved(self, customer, payment_method="pm_card_visa"):
        """A SetupIntent for `customer`, confirmed with `payment_method` as the client SDK
        would (the card's 3-D Secure challenge, if any, not answered yet)."""
        intent = self.ok("POST", "/v1/setup_intents", {
            "customer": customer["id"], "usage": "off_session", "metadata": {"booking": "b1"}})
        self.assertEqual((intent["status"], intent["usage"], intent["payment_method"]),
                         ("requires_payment_method", "off_session", None))
        self.assertTrue(intent["client_secret"].startswith(intent["id"] + "_secret_"))
        return self.ok("POST", f"/v1/setup_intents/{intent['id']}/confirm",
                       {"payment_method": payment_method})

    def off_session(self, customer, payment_method, **params):
        return self.api("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "customer": customer["id"],
            "payment_method": payment_method, "confirm": True, "off_session": True, **params})

    def test_a_confirmed_setup_saves_the_card_to_the_customer(self):
        customer = self.customer()
        self.assertEqual(self.ok("GET", f"/v1/customers/{customer['id']}"), customer)
        intent = self.saved(customer)
        self.assertEqual(intent["status"], "succeeded")
        method = self.ok("GET", f"/v1/payment_methods/{intent['payment_method']}")
        self.assertEqual(method["customer"], customer["id"])
        self.assertEqual(self.ok("GET", f"/v1/setup_intents/{intent['id']}"), intent)
        self.assertEqual(self.event_types(), [
            "customer.created", "setup_intent.created", "payment_method.attached",
            "setup_intent.succeeded"])
        # Charged later without the customer.
        status, paid, _ = self.off_session(customer, intent["payment_method"])
        self.assertEqual((status, paid["status"], paid["amount_received"]), (200, "succeeded", 2000))

    def test_a_saved_card_pays_only_for_its_customer(self):
        intent = self.saved(self.customer())
        status, body, _ = self.off_session(self.customer(), intent["payment_method"])
        self.assertEqual((status, body["error"]["param"]), (400, "payment_method"))
        status, body, _ = self.api("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "payment_method": intent["payment_method"]})
        self.assertEqual(status, 400, body)

    def test_a_card_saved_to_one_customer_is_not_saved_to_another(self):
        intent = self.saved(self.customer())
        other = self.ok("POST", "/v1/setup_intents", {"customer": self.customer()["id"]})
        status, body, _ = self.api("POST", f"/v1/setup_intents/{other['id']}/confirm",
                                   {"payment_method": intent["payment_method"]})
        self.assertEqual((status, body["error"]["param"]), (400, "payment_method"))

    def test_a_card_that_needs_3ds_is_saved_once_authenticated_then_fails_off_session(self):
        customer = self.customer()
        intent = self.saved(customer, "pm_card_authenticationRequired")
        self.assertEqual((intent["status"], intent["next_action"]["type"]),
                         ("requires_action", "use_stripe_sdk"))
        intent = self.control("POST", f"/_test/setup_intents/{intent['id']}/authenticate")
        self.assertEqual(intent["status"], "succeeded")
        status, body, _ = self.off_session(customer, intent["payment_method"],
                                           metadata={"booking": "b1"})
        self.assertEqual((status, body["error"]["code"], body["error"]["type"]),
                         (402, "authentication_required", "card_error"))
        # The intent waits for the customer to pay on-session.
        failed = self.events()[-1]["data"]["object"]
        self.assertEqual((failed["object"], failed["status"]),
                         ("payment_intent", "requires_payment_method"))

    def test_a_declined_card_is_not_saved_and_a_failed_authentication_neither(self):
        customer = self.customer()
        status, body, _ = self.api("POST", "/v1/setup_intents", {
            "customer": customer["id"], "payment_method": "pm_card_chargeDeclined",
            "confirm": True})
        self.assertEqual((status, body["error"]["code"]), (402, "card_declined"))
        waiting = self.saved(customer, "pm_card_authenticationRequired")
        failed = self.control("POST", f"/_test/setup_intents/{waiting['id']}/authenticate",
                              {"outcome": "fail"})
        self.assertEqual((failed["status"], failed["last_setup_error"]["code"]),
                         ("requires_payment_method", "setup_intent_authentication_failure"))
        self.assertIn("setup_intent.setup_failed", self.event_types())

    def test_cancel_and_unknown_ids(self):
        intent = self.ok("POST", "/v1/setup_intents", {})
        cancelled = self.ok("POST", f"/v1/setup_intents/{intent['id']}/cancel")
        self.assertEqual(cancelled["status"], "canceled")
        status, body, _ = self.api("POST", f"/v1/setup_intents/{intent['id']}/confirm",
                                   {"payment_method": "pm_card_visa"})
        self.assertEqual(status, 400, body)
        for path in ("/v1/customers/cus_nope", "/v1/setup_intents/seti_nope"):
            status, body, _ = self.api("GET", path)
            self.assertEqual((status, body["error"]["code"]), (404, "resource_missing"))


if __name__ == "__main__":
    unittest.main()
