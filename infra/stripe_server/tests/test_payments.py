"""The PaymentIntent state machine, declines, manual capture, cancellation, 3-D Secure (a card
that needs authentication) and refunds."""

import unittest

from .helpers import ServerTest


class PaymentIntentTest(ServerTest):
    def create(self, **params):
        return self.ok("POST", "/v1/payment_intents",
                       {"amount": 2000, "currency": "usd", **params})

    def test_an_intent_is_created_waiting_for_a_payment_method_with_a_client_secret(self):
        intent = self.create(transfer_group="booking_1", description="Lawn mowing")
        self.assertTrue(intent["id"].startswith("pi_"))
        self.assertTrue(intent["client_secret"].startswith(intent["id"] + "_secret_"))
        self.assertEqual(intent["status"], "requires_payment_method")
        self.assertEqual(intent["transfer_group"], "booking_1")
        self.assertFalse(intent["livemode"])
        self.assertEqual(self.event_types(), ["payment_intent.created"])
        self.assertEqual(self.ok("GET", f"/v1/payment_intents/{intent['id']}"), intent)

    def test_automatic_capture_succeeds_with_a_captured_charge_and_balance_transaction(self):
        intent = self.create()
        self.assertEqual(self.ok("POST", f"/v1/payment_intents/{intent['id']}",
                                 {"payment_method": "pm_card_visa"})["status"],
                         "requires_confirmation")
        intent = self.ok("POST", f"/v1/payment_intents/{intent['id']}/confirm")
        self.assertEqual((intent["status"], intent["amount_received"]), ("succeeded", 2000))
        charge = self.ok("GET", f"/v1/charges/{intent['latest_charge']}")
        self.assertEqual((charge["status"], charge["captured"], charge["amount_captured"],
                          charge["paid"], charge["payment_intent"]),
                         ("succeeded", True, 2000, True, intent["id"]))
        txn = self.ok("GET", f"/v1/balance_transactions/{charge['balance_transaction']}")
        self.assertEqual((txn["amount"], txn["fee"], txn["net"], txn["status"]),
                         (2000, 88, 1912, "pending"))
        self.assertEqual(self.event_types(), [
            "payment_intent.created", "charge.succeeded", "payment_intent.succeeded"])

    def test_manual_capture_authorizes_then_captures_part_and_releases_the_rest(self):
        intent = self.create(capture_method="manual", payment_method="pm_card_visa",
                             confirm=True)
        self.assertEqual((intent["status"], intent["amount_capturable"]),
                         ("requires_capture", 2000))
        charge = self.ok("GET", f"/v1/charges/{intent['latest_charge']}")
        self.assertEqual((charge["captured"], charge["balance_transaction"]), (False, None))
        status, body, _ = self.api("POST", f"/v1/payment_intents/{intent['id']}/capture",
                                   {"amount_to_capture": 2500})
        self.assertEqual((status, body["error"]["code"]), (400, "amount_too_large"))
        intent = self.ok("POST", f"/v1/payment_intents/{intent['id']}/capture",
                         {"amount_to_capture": 1500})
        self.assertEqual((intent["status"], intent["amount_received"],
                          intent["amount_capturable"]), ("succeeded", 1500, 0))
        charge = self.ok("GET", f"/v1/charges/{intent['latest_charge']}")
        self.assertEqual((charge["captured"], charge["amount_captured"],
                          charge["amount_refunded"]), (True, 1500, 500))
        self.assertEqual(self.event_types(), [
            "payment_intent.created", "charge.succeeded",
            "payment_intent.amount_capturable_updated", "charge.captured",
            "payment_intent.succeeded"])
        status, body, _ = self.api("POST", f"/v1/payment_intents/{intent['id']}/capture")
        self.assertEqual((status, body["error"]["code"]),
                         (400, "payment_intent_unexpected_state"))

    def test_a_declined_card_is_a_402_and_the_intent_waits_for_another_method(self):
        intent = self.create()
        status, body, _ = self.api("POST", f"/v1/payment_intents/{intent['id']}/confirm",
                                   {"payment_method": "pm_card_visa_chargeDeclined"})
        self.assertEqual(status, 402)
        error = body["error"]
        self.assertEqual((error["type"], error["code"], error["decline_code"]),
                         ("card_error", "card_declined", "generic_decline"))
        self.assertEqual(error["payment_intent"]["id"], intent["id"])
        intent = self.ok("GET", f"/v1/payment_intents/{intent['id']}")
        self.assertEqual((intent["status"], intent["payment_method"]),
                         ("requires_payment_method", None))
        self.assertEqual(intent["last_payment_error"]["decline_code"], "generic_decline")
        failed = self.ok("GET", f"/v1/charges/{intent['latest_charge']}")
        self.assertEqual((failed["status"], failed["failure_code"]), ("failed", "card_declined"))
        self.assertEqual(self.event_types()[-2:], ["charge.failed",
                                                   "payment_intent.payment_failed"])
        intent = self.ok("POST", f"/v1/payment_intents/{intent['id']}/confirm",
                         {"payment_method": "pm_card_visa"})
        self.assertEqual((intent["status"], intent["last_payment_error"]), ("succeeded", None))

    def test_insufficient_funds_carries_its_decline_code(self):
        status, body, _ = self.api("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "confirm": True,
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
        self.assertEqual((status, body["error"]["decline_code"], body["error"]["message"]),
                         (402, "insufficient_funds", "Your card has insufficient funds."))

    def test_a_test_control_declines_the_next_confirmation_whatever_the_card(self):
        intent = self.create(payment_method="pm_card_visa")
        self.control("POST", "/_test/declines", {"payment_intent": intent["id"],
                                                 "decline_code": "insufficient_funds"})
        status, body, _ = self.api("POST", f"/v1/payment_intents/{intent['id']}/confirm",
                                   {"payment_method": "pm_card_visa"})
        self.assertEqual((status, body["error"]["decline_code"]), (402, "insufficient_funds"))
        self.ok("POST", f"/v1/payment_intents/{intent['id']}/confirm",
                {"payment_method": "pm_card_visa"})
        self.control("POST", "/_test/declines", {})  # the next confirmation of any intent
        status, body, _ = self.api("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "confirm": True, "payment_method": "pm_card_visa"})
        self.assertEqual((status, body["error"]["decline_code"]), (402, "generic_decline"))

    def test_cancel_from_waiting_and_authorized_states_but_not_after_success(self):
        waiting = self.create()
        canceled = self.ok("POST", f"/v1/payment_intents/{waiting['id']}/cancel",
                           {"cancellation_reason": "abandoned"})
        self.assertEqual((canceled["status"], canceled["cancellation_reason"]),
                         ("canceled", "abandoned"))
        self.assertIsNotNone(canceled["canceled_at"])
        held = self.create(capture_method="manual", payment_method="pm_card_visa", confirm=True)
        released = self.ok("POST", f"/v1/payment_intents/{held['id']}/cancel")
        self.assertEqual((released["status"], released["amount_capturable"]), ("canceled", 0))
        charge = self.ok("GET", f"/v1/charges/{held['latest_charge']}")
        self.assertEqual((charge["refunded"], charge["amount_refunded"]), (True, 2000))
        self.assertIn("charge.refunded", self.event_types())
        paid = self.paid_intent()
        status, body, _ = self.api("POST", f"/v1/payment_intents/{paid['id']}/cancel")
        self.assertEqual((status, body["error"]["code"]),
                         (400, "payment_intent_unexpected_state"))

    def test_updates_change_metadata_anytime_but_the_amount_only_before_confirmation(self):
        paid = self.paid_intent(metadata={"a": "1", "b": "2"})
        updated = self.ok("POST", f"/v1/payment_intents/{paid['id']}",
                          {"metadata": {"a": "", "c": "3"}, "description": "done"})
        self.assertEqual((updated["metadata"], updated["description"]),
                         ({"b": "2", "c": "3"}, "done"))
        status, body, _ = self.api("POST", f"/v1/payment_intents/{paid['id']}", {"amount": 999})
        self.assertEqual((status, body["error"]["code"]),
                         (400, "payment_intent_unexpected_state"))

    def test_an_unknown_payment_method_is_a_404(self):
        status, body, _ = self.api("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "payment_method": "pm_unknown"})
        self.assertEqual((status, body["error"]["message"]),
                         (404, "No such PaymentMethod: 'pm_unknown'"))


class ThreeDSecureTest(ServerTest):
    def confirmed(self, payment_method="pm_card_authenticationRequired", **params):
        return self.ok("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "payment_method": payment_method,
            "confirm": True, **params})

    def authenticate(self, intent, outcome=None):
        body = {} if outcome is None else {"outcome": outcome}
        return self.control("POST", f"/_test/payment_intents/{intent['id']}/authenticate", body)

    def test_a_card_that_needs_3ds_waits_for_the_customer_without_a_charge(self):
        intent = self.confirmed()
        self.assertEqual((intent["status"], intent["latest_charge"], intent["amount_received"]),
                         ("requires_action", None, 0))
        action = intent["next_action"]
        self.assertEqual(sorted(action), ["type", "use_stripe_sdk"])
        self.assertEqual((action["type"], action["use_stripe_sdk"]["type"],
                          action["use_stripe_sdk"]["stripe_js"]),
                         ("use_stripe_sdk", "three_d_secure_redirect",
                          f"{self.base}/_test/3ds/{intent['id']}"))
        self.assertTrue(action["use_stripe_sdk"]["source"].startswith("src_"))
        method = self.ok("GET", f"/v1/payment_methods/{intent['payment_method']}")
        self.assertEqual(method["card"]["last4"], "3184")
        self.assertEqual(self.ok("GET", "/v1/charges", {"payment_intent": intent["id"]})["data"],
                         [])
        self.assertEqual(self.event_types(), ["payment_intent.created",
                                              "payment_intent.requires_action"])
        self.assertEqual(self.events()[-1]["data"]["object"], intent)

    def test_passed_authentication_pays_as_a_confirmation_does(self):
        intent = self.authenticate(self.confirmed())
        self.assertEqual((intent["status"], intent["amount_received"], intent["next_action"],
                          intent["last_payment_error"]), ("succeeded", 2000, None, None))
        charge = self.ok("GET", f"/v1/charges/{intent['latest_charge']}")
        self.assertEqual((charge["status"], charge["captured"], charge["payment_intent"]),
                         ("succeeded", True, intent["id"]))
        secure = charge["payment_method_details"]["card"]["three_d_secure"]
        self.assertEqual((secure["result"], secure["authentication_flow"], secure["version"]),
                         ("authenticated", "challenge", "2.2.0"))
        self.assertIsNotNone(charge["balance_transaction"])
        self.assertEqual(self.event_types(), [
            "payment_intent.created", "payment_intent.requires_action", "charge.succeeded",
            "payment_intent.succeeded"])
        status, message = self.control_refusal(
            "POST", f"/_test/payment_intents/{intent['id']}/authenticate")
        self.assertEqual((status, message),
                         (400, f"payment intent {intent['id']} is succeeded, not requires_action"))

    def test_the_3ds2_alias_with_manual_capture_is_authorized_then_captured(self):
        intent = self.confirmed("pm_card_threeDSecure2Required", capture_method="manual")
        self.assertEqual(intent["status"], "requires_action")
        intent = self.authenticate(intent, "succeed")
        self.assertEqual((intent["status"], intent["amount_capturable"], intent["next_action"]),
                         ("requires_capture", 2000, None))
        self.assertEqual(self.event_types()[-2:], ["charge.succeeded",
                                                   "payment_intent.amount_capturable_updated"])
        captured = self.ok("POST", f"/v1/payment_intents/{intent['id']}/capture")
        self.assertEqual(captured["status"], "succeeded")

    def test_failed_authentication_waits_for_another_payment_method(self):
        intent = self.confirmed()
        failed = self.authenticate(intent, "fail")
        self.assertEqual((failed["status"], failed["payment_method"], failed["next_action"],
                          failed["latest_charge"]), ("requires_payment_method", None, None, None))
        error = failed["last_payment_error"]
        self.assertEqual({k: v for k, v in error.items() if k != "payment_method"}, {
            "type": "invalid_request_error", "code": "payment_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
            "message": "The provided PaymentMethod has failed authentication. You can provide "
                       "payment_method_data or a new PaymentMethod to attempt to fulfill this "
                       "PaymentIntent again."})
        self.assertEqual(error["payment_method"]["id"], intent["payment_method"])
        self.assertEqual(self.event_types()[-1], "payment_intent.payment_failed")
        self.assertNotIn("charge.failed", self.event_types())
        self.assertEqual(self.ok("GET", f"/v1/payment_intents/{intent['id']}"), failed)
        paid = self.ok("POST", f"/v1/payment_intents/{intent['id']}/confirm",
                       {"payment_method": "pm_card_visa"})
        self.assertEqual((paid["status"], paid["last_payment_error"]), ("succeeded", None))

    def test_an_intent_waiting_for_authentication_can_be_confirmed_again(self):
        intent = self.confirmed()
        again = self.ok("POST", f"/v1/payment_intents/{intent['id']}/confirm")
        self.assertEqual(again["status"], "requires_action")
        self.assertNotEqual(again["next_action"]["use_stripe_sdk"]["source"],
                            intent["next_action"]["use_stripe_sdk"]["source"])
        paid = self.ok("POST", f"/v1/payment_intents/{intent['id']}/confirm",
                       {"payment_method": "pm_card_mastercard"})
        self.assertEqual((paid["status"], paid["next_action"]), ("succeeded", None))
        self.assertEqual(self.event_types(), [
            "payment_intent.created", "payment_intent.requires_action",
            "payment_intent.requires_action", "charge.succeeded", "payment_intent.succeeded"])

    def test_visiting_the_next_action_url_answers_the_challenge(self):
        intent = self.confirmed()
        url = intent["next_action"]["use_stripe_sdk"]["stripe_js"]
        status, paid, _ = self.request("GET", url[len(self.base):])
        self.assertEqual((status, paid["status"]), (200, "succeeded"))
        other = self.confirmed()
        path = other["next_action"]["use_stripe_sdk"]["stripe_js"][len(self.base):]
        status, failed, _ = self.request("GET", path + "?outcome=fail")
        self.assertEqual((status, failed["status"]), (200, "requires_payment_method"))
        status, _, _ = self.request("GET", path)
        self.assertEqual(status, 400)

    def test_a_confirmation_that_cannot_wait_for_the_customer_is_declined(self):
        for params in ({"off_session": True}, {"off_session": "recurring"},
                       {"error_on_requires_action": True}):
            status, body, _ = self.api("POST", "/v1/payment_intents", {
                "amount": 2000, "currency": "usd", "confirm": True,
                "payment_method": "pm_card_authenticationRequired", **params})
            self.assertEqual(status, 402, params)
            error = body["error"]
            self.assertEqual((error["type"], error["code"], error["decline_code"],
                              error["message"]),
                             ("card_error", "authentication_required", "authentication_required",
                              "Your card was declined. This transaction requires "
                              "authentication."))
            self.assertEqual((error["payment_intent"]["status"],
                              error["payment_intent"]["next_action"]),
                             ("requires_payment_method", None))
            charge = self.ok("GET", f"/v1/charges/{error['charge']}")
            self.assertEqual((charge["status"], charge["failure_code"]),
                             ("failed", "authentication_required"))
        intent = self.ok("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "payment_method": "pm_card_authenticationRequired"})
        status, body, _ = self.api("POST", f"/v1/payment_intents/{intent['id']}/confirm",
                                   {"off_session": True})
        self.assertEqual((status, body["error"]["code"]), (402, "authentication_required"))
        status, body, _ = self.api("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "off_session": "sometimes"})
        self.assertEqual((status, body["error"]["param"]), (400, "off_session"))

    def test_a_decline_after_authentication_is_told_by_the_intent(self):
        intent = self.confirmed()
        self.control("POST", "/_test/declines", {"payment_intent": intent["id"],
                                                 "decline_code": "insufficient_funds"})
        declined = self.authenticate(intent)
        self.assertEqual((declined["status"], declined["last_payment_error"]["decline_code"]),
                         ("requires_payment_method", "insufficient_funds"))
        self.assertEqual(self.event_types()[-2:], ["charge.failed",
                                                   "payment_intent.payment_failed"])

    def test_cancel_and_a_new_payment_method_clear_the_next_action(self):
        canceled = self.ok("POST", f"/v1/payment_intents/{self.confirmed()['id']}/cancel")
        self.assertEqual((canceled["status"], canceled["next_action"]), ("canceled", None))
        intent = self.confirmed()
        updated = self.ok("POST", f"/v1/payment_intents/{intent['id']}",
                          {"payment_method": "pm_card_visa"})
        self.assertEqual((updated["status"], updated["next_action"]),
                         ("requires_confirmation", None))

    def test_the_control_refuses_unknown_intents_and_outcomes(self):
        status, _ = self.control_refusal("POST", "/_test/payment_intents/pi_nothing/authenticate")
        self.assertEqual(status, 404)
        intent = self.confirmed()
        status, message = self.control_refusal(
            "POST", f"/_test/payment_intents/{intent['id']}/authenticate", {"outcome": "maybe"})
        self.assertEqual((status, message), (400, "outcome must be one of succeed, fail"))
        self.assertEqual(self.ok("GET", f"/v1/payment_intents/{intent['id']}")["status"],
                         "requires_action")


class RefundTest(ServerTest):
    def test_partial_then_full_refund_then_nothing_left(self):
        intent = self.paid_intent(amount=3000)
        first = self.ok("POST", "/v1/refunds", {"payment_intent": intent["id"], "amount": 1000,
                                                "reason": "requested_by_customer",
                                                "metadata": {"booking": "b1"}})
        self.assertTrue(first["id"].startswith("re_"))
        self.assertEqual((first["status"], first["amount"], first["charge"], first["reason"]),
                         ("succeeded", 1000, intent["latest_charge"], "requested_by_customer"))
        charge = self.ok("GET", f"/v1/charges/{intent['latest_charge']}")
        self.assertEqual((charge["amount_refunded"], charge["refunded"]), (1000, False))
        status, body, _ = self.api("POST", "/v1/refunds",
                                   {"payment_intent": intent["id"], "amount": 2001})
        self.assertEqual((status, body["error"]["code"], body["error"]["param"]),
                         (400, "amount_too_large", "amount"))
        rest = self.ok("POST", "/v1/refunds", {"charge": intent["latest_charge"]})
        self.assertEqual(rest["amount"], 2000)
        charge = self.ok("GET", f"/v1/charges/{intent['latest_charge']}")
        self.assertEqual((charge["amount_refunded"], charge["refunded"]), (3000, True))
        self.assertEqual([r["id"] for r in charge["refunds"]["data"]], [rest["id"], first["id"]])
        status, body, _ = self.api("POST", "/v1/refunds", {"payment_intent": intent["id"]})
        self.assertEqual((status, body["error"]["code"]), (400, "charge_already_refunded"))
        types = self.event_types()
        self.assertEqual(types.count("refund.created"), 2)
        self.assertEqual(types.count("charge.refunded"), 2)
        listed = self.ok("GET", "/v1/refunds", {"payment_intent": intent["id"]})
        self.assertEqual([r["id"] for r in listed["data"]], [rest["id"], first["id"]])
        self.assertEqual(self.ok("GET", f"/v1/refunds/{first['id']}")["amount"], 1000)

    def test_an_intent_without_a_successful_charge_cannot_be_refunded(self):
        intent = self.ok("POST", "/v1/payment_intents", {"amount": 2000, "currency": "usd"})
        status, body, _ = self.api("POST", "/v1/refunds", {"payment_intent": intent["id"]})
        self.assertEqual(status, 400)
        self.assertIn("does not have a successful charge", body["error"]["message"])


if __name__ == "__main__":
    unittest.main()
