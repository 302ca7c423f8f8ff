"""Disputes: opened by the cardholder's bank (a test control) on the charge's account, what they
take from the balance and give back, evidence and acceptance through the API, the bank's
decision, and the refusals of each step."""

import unittest

from .helpers import ServerTest


class DisputeTest(ServerTest):
    def dispute(self, charge_id, **body):
        return self.control("POST", f"/_test/charges/{charge_id}/dispute", body)

    def available(self, **kwargs):
        return self.ok("GET", "/v1/balance", **kwargs)["available"][0]["amount"]

    def test_a_dispute_withdraws_the_amount_and_the_fee_and_marks_the_charge(self):
        intent = self.paid_intent(amount=3000, payment_method="pm_card_bypassPending")
        self.assertEqual(self.available(), 3000 - 117)
        dispute = self.dispute(intent["latest_charge"])
        self.assertTrue(dispute["id"].startswith("dp_"))
        self.assertEqual(
            (dispute["object"], dispute["status"], dispute["amount"], dispute["currency"],
             dispute["reason"], dispute["charge"], dispute["payment_intent"],
             dispute["is_charge_refundable"], dispute["livemode"]),
            ("dispute", "needs_response", 3000, "usd", "fraudulent", intent["latest_charge"],
             intent["id"], False, False))
        self.assertEqual(dispute["payment_method_details"], {
            "card": {"brand": "visa", "case_type": "chargeback", "network": "visa",
                     "network_reason_code": "10.4"},
            "type": "card"})
        details = dispute["evidence_details"]
        self.assertEqual((details["has_evidence"], details["past_due"],
                          details["submission_count"]), (False, False, 0))
        self.assertGreater(details["due_by"], dispute["created"] + 6 * 24 * 3600)
        self.assertEqual(details["due_by"] % (24 * 3600), 24 * 3600 - 1)

        [txn] = dispute["balance_transactions"]
        self.assertEqual(
            (txn["type"], txn["amount"], txn["fee"], txn["net"], txn["reporting_category"],
             txn["source"], txn["status"]),
            ("adjustment", -3000, 1500, -4500, "dispute", dispute["id"], "available"))
        self.assertEqual(txn["fee_details"][0]["description"], "Dispute fee")
        self.assertEqual(self.ok("GET", f"/v1/balance_transactions/{txn['id']}"), txn)
        self.assertEqual(self.available(), 3000 - 117 - 3000 - 1500)
        self.assertTrue(self.ok("GET", f"/v1/charges/{intent['latest_charge']}")["disputed"])

        created, withdrawn = self.events()[-2:]
        self.assertEqual((created["type"], withdrawn["type"]),
                         ("charge.dispute.created", "charge.dispute.funds_withdrawn"))
        self.assertEqual(created["data"]["object"], dispute)
        self.assertEqual(withdrawn["data"]["object"], dispute)
        self.assertEqual(self.ok("GET", f"/v1/disputes/{dispute['id']}"), dispute)
        expanded = self.ok("GET", f"/v1/disputes/{dispute['id']}", {"expand": ["charge"]})
        self.assertEqual(expanded["charge"]["id"], intent["latest_charge"])

    def test_a_disputed_charge_cannot_be_refunded_unless_the_dispute_is_won(self):
        intent = self.paid_intent(amount=3000)
        dispute = self.dispute(intent["latest_charge"], amount=1000)
        status, body, _ = self.api("POST", "/v1/refunds", {"payment_intent": intent["id"]})
        self.assertEqual((status, body["error"]["code"], body["error"]["message"]), (
            400, "charge_disputed",
            f"Charge {intent['latest_charge']} has been charged back; cannot issue a refund."))
        self.control("POST", f"/_test/disputes/{dispute['id']}/close", {"outcome": "won"})
        self.ok("POST", "/v1/refunds", {"payment_intent": intent["id"], "amount": 500})

    def test_a_won_dispute_gives_back_the_amount_and_the_fee(self):
        intent = self.paid_intent(amount=5000, payment_method="pm_card_bypassPending")
        before = self.available()
        dispute = self.dispute(intent["latest_charge"], amount=2000,
                               reason="product_not_received")
        self.assertEqual((dispute["amount"], dispute["reason"], dispute["network_reason_code"]),
                         (2000, "product_not_received", "13.1"))
        won = self.control("POST", f"/_test/disputes/{dispute['id']}/close", {"outcome": "won"})
        self.assertEqual((won["status"], won["is_charge_refundable"]), ("won", True))
        withdrawal, reinstatement = won["balance_transactions"]
        self.assertEqual(withdrawal, dispute["balance_transactions"][0])
        self.assertEqual(
            (reinstatement["type"], reinstatement["amount"], reinstatement["fee"],
             reinstatement["net"], reinstatement["reporting_category"], reinstatement["source"]),
            ("adjustment", 2000, -1500, 3500, "dispute_reversal", dispute["id"]))
        self.assertEqual(self.available(), before)
        self.assertEqual(self.event_types()[-2:], ["charge.dispute.funds_reinstated",
                                                   "charge.dispute.closed"])
        self.assertEqual(self.events()[-1]["data"]["object"], won)
        self.assertEqual(self.ok("GET", f"/v1/disputes/{dispute['id']}"), won)
        status, message = self.control_refusal(
            "POST", f"/_test/disputes/{dispute['id']}/close", {"outcome": "lost"})
        self.assertEqual(status, 400)
        self.assertIn("already closed", message)

    def test_a_lost_dispute_keeps_the_funds_withdrawn(self):
        intent = self.paid_intent(amount=2000, payment_method="pm_card_bypassPending")
        dispute = self.dispute(intent["latest_charge"])
        after_withdrawal = self.available()
        lost = self.control("POST", f"/_test/disputes/{dispute['id']}/close", {"outcome": "lost"})
        self.assertEqual((lost["status"], len(lost["balance_transactions"])), ("lost", 1))
        self.assertEqual(self.available(), after_withdrawal)
        types = self.event_types()
        self.assertEqual(types[-1], "charge.dispute.closed")
        self.assertNotIn("charge.dispute.funds_reinstated", types)
        self.assertTrue(self.ok("GET", f"/v1/charges/{intent['latest_charge']}")["disputed"])

    def test_evidence_is_staged_then_submitted_once_and_metadata_changes_anytime(self):
        intent = self.paid_intent()
        dispute = self.dispute(intent["latest_charge"])
        staged = self.ok("POST", f"/v1/disputes/{dispute['id']}", {
            "evidence": {"product_description": "Lawn mowing, 2 hours",
                         "customer_name": "Ann Example"},
            "metadata": {"booking": "b1"}, "submit": False})
        self.assertEqual((staged["status"], staged["metadata"]),
                         ("needs_response", {"booking": "b1"}))
        self.assertEqual((staged["evidence"]["product_description"],
                          staged["evidence"]["customer_name"], staged["evidence"]["receipt"]),
                         ("Lawn mowing, 2 hours", "Ann Example", None))
        self.assertEqual((staged["evidence_details"]["has_evidence"],
                          staged["evidence_details"]["submission_count"]), (True, 0))
        updated = self.events()[-1]
        self.assertEqual(updated["type"], "charge.dispute.updated")
        self.assertEqual(updated["data"]["previous_attributes"]["evidence"]["customer_name"],
                         None)
        self.assertEqual(updated["data"]["previous_attributes"]["metadata"], {})

        # Evidence given without `submit` is submitted, as Stripe's default is.
        submitted = self.ok("POST", f"/v1/disputes/{dispute['id']}",
                            {"evidence": {"customer_name": "",
                                          "uncategorized_text": "Work was done."}})
        self.assertEqual((submitted["status"], submitted["evidence"]["customer_name"],
                          submitted["evidence_details"]["submission_count"],
                          submitted["evidence_details"]["past_due"]),
                         ("under_review", None, 1, False))
        self.assertEqual(self.events()[-1]["data"]["previous_attributes"]["status"],
                         "needs_response")
        status, body, _ = self.api("POST", f"/v1/disputes/{dispute['id']}",
                                   {"evidence": {"receipt": "file_1"}})
        self.assertEqual((status, body["error"]["type"]), (400, "invalid_request_error"))
        status, body, _ = self.api("POST", f"/v1/disputes/{dispute['id']}", {"submit": True})
        self.assertEqual(status, 400)
        noted = self.ok("POST", f"/v1/disputes/{dispute['id']}", {"metadata": {"case": "7"}})
        self.assertEqual((noted["status"], noted["metadata"]),
                         ("under_review", {"booking": "b1", "case": "7"}))
        won = self.control("POST", f"/_test/disputes/{dispute['id']}/close", {"outcome": "won"})
        self.assertEqual(won["status"], "won")

    def test_unknown_evidence_and_malformed_updates_are_refused_before_anything_changes(self):
        dispute = self.dispute(self.paid_intent()["latest_charge"])
        status, body, _ = self.api("POST", f"/v1/disputes/{dispute['id']}",
                                   {"evidence": {"colour": "red"}})
        self.assertEqual((status, body["error"]["code"], body["error"]["param"]),
                         (400, "parameter_unknown", "evidence[colour]"))
        status, body, _ = self.api("POST", f"/v1/disputes/{dispute['id']}",
                                   {"submit": "maybe"})
        self.assertEqual((status, body["error"]["param"]), (400, "submit"))
        status, body, _ = self.api("POST", f"/v1/disputes/{dispute['id']}", {"amount": 1})
        self.assertEqual((status, body["error"]["code"]), (400, "parameter_unknown"))
        self.assertEqual(self.ok("GET", f"/v1/disputes/{dispute['id']}"), dispute)
        status, body, _ = self.api("GET", "/v1/disputes/dp_nothing")
        self.assertEqual((status, body["error"]["code"], body["error"]["message"]),
                         (404, "resource_missing", "No such dispute: 'dp_nothing'"))

    def test_the_merchant_accepting_a_dispute_loses_it_once(self):
        dispute = self.dispute(self.paid_intent()["latest_charge"])
        closed = self.ok("POST", f"/v1/disputes/{dispute['id']}/close")
        self.assertEqual(closed["status"], "lost")
        self.assertEqual(self.event_types()[-1], "charge.dispute.closed")
        status, body, _ = self.api("POST", f"/v1/disputes/{dispute['id']}/close")
        self.assertEqual((status, body["error"]["type"]), (400, "invalid_request_error"))
        self.assertIn("already closed", body["error"]["message"])
        status, _, _ = self.api("POST", f"/v1/disputes/{dispute['id']}/close", {"x": 1})
        self.assertEqual(status, 400)
        self.assertEqual(self.control_refusal(
            "POST", f"/_test/disputes/{dispute['id']}/close", {"outcome": "won"})[0], 400)

    def test_lists_are_newest_first_and_filter_by_charge_and_payment_intent(self):
        first, second = self.paid_intent(), self.paid_intent(amount=3000)
        one = self.dispute(first["latest_charge"])
        two = self.dispute(second["latest_charge"])
        listed = self.ok("GET", "/v1/disputes")
        self.assertEqual(([d["id"] for d in listed["data"]], listed["url"]),
                         ([two["id"], one["id"]], "/v1/disputes"))
        page = self.ok("GET", "/v1/disputes", {"limit": 1})
        self.assertEqual(([d["id"] for d in page["data"]], page["has_more"]), ([two["id"]], True))
        rest = self.ok("GET", "/v1/disputes", {"starting_after": two["id"]})
        self.assertEqual([d["id"] for d in rest["data"]], [one["id"]])
        by_charge = self.ok("GET", "/v1/disputes", {"charge": first["latest_charge"]})
        self.assertEqual([d["id"] for d in by_charge["data"]], [one["id"]])
        by_intent = self.ok("GET", "/v1/disputes", {"payment_intent": second["id"]})
        self.assertEqual([d["id"] for d in by_intent["data"]], [two["id"]])
        status, body, _ = self.api("GET", "/v1/disputes", {"status": "lost"})
        self.assertEqual((status, body["error"]["code"]), (400, "parameter_unknown"))

    def test_the_control_refuses_what_cannot_be_disputed(self):
        status, message = self.control_refusal("POST", "/_test/charges/ch_nothing/dispute")
        self.assertEqual((status, message), (404, "no such charge: 'ch_nothing'"))

        held = self.ok("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "payment_method": "pm_card_visa",
            "confirm": True, "capture_method": "manual"})
        status, _ = self.control_refusal("POST", f"/_test/charges/{held['latest_charge']}/dispute")
        self.assertEqual(status, 400)  # authorized only: nothing was paid to dispute

        declined = self.api("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "payment_method": "pm_card_chargeDeclined",
            "confirm": True})[1]["error"]["charge"]
        status, message = self.control_refusal("POST", f"/_test/charges/{declined}/dispute")
        self.assertEqual(status, 400)
        self.assertIn("not a succeeded, captured card payment", message)

        paid = self.paid_intent(amount=2000)
        self.ok("POST", "/v1/refunds", {"payment_intent": paid["id"], "amount": 500})
        path = f"/_test/charges/{paid['latest_charge']}/dispute"
        for body in ({"amount": 1501}, {"amount": 0}, {"amount": "10"}, {"amount": 10.5},
                     {"reason": "boredom"}):
            self.assertEqual(self.control_refusal("POST", path, body)[0], 400, body)
        dispute = self.dispute(paid["latest_charge"])
        self.assertEqual(dispute["amount"], 1500)  # what the refund left
        status, message = self.control_refusal("POST", path)
        self.assertEqual((status, message), (
            400, f"charge {paid['latest_charge']} already has an open dispute: {dispute['id']}"))
        status, message = self.control_refusal("POST", f"/_test/disputes/{dispute['id']}/close")
        self.assertEqual((status, message), (400, "outcome must be one of won, lost"))
        status, _ = self.control_refusal("POST", "/_test/disputes/dp_nothing/close",
                                         {"outcome": "won"})
        self.assertEqual(status, 404)

        refunded = self.paid_intent(amount=2000)
        self.ok("POST", "/v1/refunds", {"payment_intent": refunded["id"]})
        status, message = self.control_refusal(
            "POST", f"/_test/charges/{refunded['latest_charge']}/dispute")
        self.assertEqual(status, 400)
        self.assertIn("refunded in full", message)

    def test_a_dispute_lives_on_the_account_of_its_charge(self):
        account = self.ok("POST", "/v1/accounts", {"type": "express"})
        on_account = {"Stripe-Account": account["id"]}
        intent = self.ok("POST", "/v1/payment_intents", {
            "amount": 2000, "currency": "usd", "payment_method": "pm_card_bypassPending",
            "confirm": True}, headers=on_account)
        dispute = self.dispute(intent["latest_charge"])
        self.assertEqual(self.ok("GET", f"/v1/disputes/{dispute['id']}", headers=on_account),
                         dispute)
        self.assertEqual(self.available(headers=on_account), 2000 - 88 - 2000 - 1500)
        status, _, _ = self.api("GET", f"/v1/disputes/{dispute['id']}")
        self.assertEqual(status, 404)
        self.assertEqual(self.ok("GET", "/v1/disputes")["data"], [])
        event = self.ok("GET", "/v1/events", headers=on_account)["data"][0]
        self.assertEqual((event["type"], event["account"]),
                         ("charge.dispute.funds_withdrawn", account["id"]))
        won = self.control("POST", f"/_test/disputes/{dispute['id']}/close", {"outcome": "won"})
        self.assertEqual(won["status"], "won")
        self.assertEqual(self.available(headers=on_account), 2000 - 88)

        # A transfer's payment on a connected account is no card payment to dispute.
        self.control("POST", f"/_test/accounts/{account['id']}/onboarding")
        source = self.paid_intent(payment_method="pm_card_bypassPending")
        transfer = self.ok("POST", "/v1/transfers", {
            "amount": 1000, "currency": "usd", "destination": account["id"],
            "source_transaction": source["latest_charge"]})
        status, _ = self.control_refusal(
            "POST", f"/_test/charges/{transfer['destination_payment']}/dispute")
        self.assertEqual(status, 400)


if __name__ == "__main__":
    unittest.main()
