"""Connect: onboarding, transfers from a charge, reversals, payouts on a connected account."""

import unittest

from .helpers import ServerTest

DAY = 24 * 3600


class ConnectTest(ServerTest):
    def account(self):
        return self.ok("POST", "/v1/accounts", {
            "type": "express", "email": "provider@example.com",
            "capabilities": {"card_payments": {"requested": True},
                             "transfers": {"requested": True}},
            "metadata": {"provider": "p1"}})

    def test_a_new_account_cannot_receive_transfers_until_onboarded(self):
        account = self.account()
        self.assertTrue(account["id"].startswith("acct_"))
        self.assertEqual((account["charges_enabled"], account["payouts_enabled"],
                          account["capabilities"]), (False, False, {
                              "card_payments": "inactive", "transfers": "inactive"}))
        intent = self.paid_intent()
        status, body, _ = self.api("POST", "/v1/transfers", {
            "amount": 1000, "currency": "usd", "destination": account["id"],
            "source_transaction": intent["latest_charge"]})
        self.assertEqual((status, body["error"]["code"]),
                         (400, "insufficient_capabilities_for_transfer"))

    def test_an_account_link_completes_onboarding_once_and_redirects(self):
        account = self.account()
        link = self.ok("POST", "/v1/account_links", {
            "account": account["id"], "type": "account_onboarding",
            "refresh_url": "http://127.0.0.1:9/refresh", "return_url": "http://127.0.0.1:9/back"})
        self.assertEqual(link["expires_at"], link["created"] + 300)
        path = link["url"][len(self.base):]
        status, _, headers = self.request("GET", path)
        self.assertEqual((status, headers["Location"]), (302, "http://127.0.0.1:9/back"))
        onboarded = self.ok("GET", f"/v1/accounts/{account['id']}")
        self.assertEqual((onboarded["charges_enabled"], onboarded["payouts_enabled"],
                          onboarded["details_submitted"], onboarded["capabilities"]["transfers"]),
                         (True, True, True, "active"))
        self.assertEqual(onboarded["requirements"]["currently_due"], [])
        updated = self.ok("GET", "/v1/events", {"type": "account.updated"},
                          headers={"Stripe-Account": account["id"]})["data"][0]
        self.assertEqual(updated["account"], account["id"])
        self.assertEqual(updated["data"]["previous_attributes"]["charges_enabled"], False)
        status, _, headers = self.request("GET", path)
        self.assertEqual((status, headers["Location"]), (302, "http://127.0.0.1:9/refresh"))

    def test_the_platform_sets_a_manual_payout_schedule_and_it_is_announced(self):
        account = self.account()
        self.assertEqual(account["settings"]["payouts"]["schedule"]["interval"], "daily")
        updated = self.ok("POST", f"/v1/accounts/{account['id']}", {
            "settings": {"payouts": {"schedule": {"interval": "manual"}}}})
        self.assertEqual(updated["settings"]["payouts"]["schedule"]["interval"], "manual")
        event = self.ok("GET", "/v1/events", {"type": "account.updated"},
                        headers={"Stripe-Account": account["id"]})["data"][0]
        self.assertIn("settings", event["data"]["previous_attributes"])
        status, body, _ = self.api("POST", f"/v1/accounts/{account['id']}", {
            "settings": {"payouts": {"schedule": {"interval": "hourly"}}}})
        self.assertEqual(status, 400, body)

    def test_an_expired_account_link_leads_to_its_refresh_url(self):
        account = self.account()
        link = self.ok("POST", "/v1/account_links", {
            "account": account["id"], "type": "account_onboarding",
            "refresh_url": "http://127.0.0.1:9/refresh", "return_url": "http://127.0.0.1:9/back"})
        self.control("POST", "/_test/clock/advance", {"seconds": 301})
        status, _, headers = self.request("GET", link["url"][len(self.base):])
        self.assertEqual((status, headers["Location"]), (302, "http://127.0.0.1:9/refresh"))
        self.assertFalse(self.ok("GET", f"/v1/accounts/{account['id']}")["charges_enabled"])

    def test_transfer_from_a_charge_reverse_part_and_pay_out_once_funds_are_available(self):
        account = self.control("POST", f"/_test/accounts/{self.account()['id']}/onboarding")
        on_account = {"Stripe-Account": account["id"]}
        intent = self.paid_intent(amount=10000, transfer_group="booking_9")
        transfer = self.ok("POST", "/v1/transfers", {
            "amount": 8000, "currency": "usd", "destination": account["id"],
            "transfer_group": "booking_9", "source_transaction": intent["latest_charge"]})
        self.assertEqual((transfer["destination"], transfer["source_transaction"],
                          transfer["transfer_group"]),
                         (account["id"], intent["latest_charge"], "booking_9"))
        status, body, _ = self.api("POST", "/v1/transfers", {
            "amount": 2001, "currency": "usd", "destination": account["id"],
            "source_transaction": intent["latest_charge"]})
        self.assertEqual((status, body["error"]["code"]), (400, "amount_too_large"))
        payment = self.ok("GET", f"/v1/charges/{transfer['destination_payment']}",
                          headers=on_account)
        self.assertEqual((payment["amount"], payment["source_transfer"]), (8000, transfer["id"]))

        reversal = self.ok("POST", f"/v1/transfers/{transfer['id']}/reversals", {"amount": 3000})
        self.assertTrue(reversal["id"].startswith("trr_"))
        transfer = self.ok("GET", f"/v1/transfers/{transfer['id']}")
        self.assertEqual((transfer["amount_reversed"], transfer["reversed"]), (3000, False))
        self.assertEqual(transfer["reversals"]["data"][0]["id"], reversal["id"])
        status, body, _ = self.api("POST", f"/v1/transfers/{transfer['id']}/reversals",
                                   {"amount": 5001})
        self.assertEqual((status, body["error"]["code"]), (400, "amount_too_large"))

        balance = self.ok("GET", "/v1/balance", headers=on_account)
        self.assertEqual((balance["available"][0]["amount"], balance["pending"][0]["amount"]),
                         (0, 5000))
        status, body, _ = self.api("POST", "/v1/payouts", {"amount": 5000, "currency": "usd"},
                                   headers=on_account)
        self.assertEqual((status, body["error"]["code"]), (400, "balance_insufficient"))
        self.control("POST", "/_test/clock/advance", {"seconds": 2 * DAY})
        payout = self.ok("POST", "/v1/payouts", {"amount": 5000, "currency": "usd"},
                         headers=on_account)
        self.assertEqual((payout["status"], payout["destination"]),
                         ("pending", account["external_accounts"]["data"][0]["id"]))
        self.control("POST", "/_test/clock/advance", {"seconds": DAY})
        self.assertEqual(self.ok("GET", f"/v1/payouts/{payout['id']}", headers=on_account)
                         ["status"], "paid")
        types = [e["type"] for e in self.ok("GET", "/v1/events", headers=on_account)["data"]]
        self.assertEqual(types[:2], ["payout.paid", "payout.created"])
        self.assertIn("transfer.reversed", self.event_types())
        platform = self.ok("GET", "/v1/balance")
        self.assertEqual(platform["available"][0]["amount"], 10000 - 320 - 8000 + 3000)

    def test_what_a_reversal_took_back_may_be_transferred_again_from_the_charge(self):
        account = self.control("POST", f"/_test/accounts/{self.account()['id']}/onboarding")
        intent = self.paid_intent(amount=10000)
        params = {"amount": 8000, "currency": "usd", "destination": account["id"],
                  "source_transaction": intent["latest_charge"]}
        transfer = self.ok("POST", "/v1/transfers", params)
        self.ok("POST", f"/v1/transfers/{transfer['id']}/reversals", {})
        self.ok("POST", "/v1/transfers", params)
        status, body, _ = self.api("POST", "/v1/transfers", dict(params, amount=2001))
        self.assertEqual((status, body["error"]["code"]), (400, "amount_too_large"))

    def test_a_transfer_without_a_source_needs_available_platform_funds(self):
        account = self.control("POST", f"/_test/accounts/{self.account()['id']}/onboarding")
        params = {"amount": 1000, "currency": "usd", "destination": account["id"]}
        self.paid_intent()  # pending for two days
        status, body, _ = self.api("POST", "/v1/transfers", params)
        self.assertEqual((status, body["error"]["code"]), (400, "balance_insufficient"))
        self.paid_intent(payment_method="pm_card_bypassPending")
        self.ok("POST", "/v1/transfers", params)

    def test_a_payout_can_be_made_to_fail(self):
        account = self.control("POST", f"/_test/accounts/{self.account()['id']}/onboarding")
        on_account = {"Stripe-Account": account["id"]}
        intent = self.paid_intent(payment_method="pm_card_bypassPending")
        self.ok("POST", "/v1/transfers", {"amount": 1500, "currency": "usd",
                                          "destination": account["id"],
                                          "source_transaction": intent["latest_charge"]})
        payout = self.ok("POST", "/v1/payouts", {"amount": 1500, "currency": "usd"},
                         headers=on_account)
        failed = self.control("POST", f"/_test/payouts/{payout['id']}/fail",
                              {"failure_code": "account_closed"})
        self.assertEqual((failed["status"], failed["failure_code"]), ("failed", "account_closed"))
        self.assertEqual(self.ok("GET", "/v1/balance", headers=on_account)
                         ["available"][0]["amount"], 1500)
        event = self.ok("GET", "/v1/events", headers=on_account)["data"][0]
        self.assertEqual((event["type"], event["account"]), ("payout.failed", account["id"]))

    def test_a_payout_can_be_paid_at_once(self):
        account = self.control("POST", f"/_test/accounts/{self.account()['id']}/onboarding")
        on_account = {"Stripe-Account": account["id"]}
        intent = self.paid_intent(payment_method="pm_card_bypassPending")
        self.ok("POST", "/v1/transfers", {"amount": 1500, "currency": "usd",
                                          "destination": account["id"],
                                          "source_transaction": intent["latest_charge"]})
        payout = self.ok("POST", "/v1/payouts", {"amount": 1500, "currency": "usd"},
                         headers=on_account)
        paid = self.control("POST", f"/_test/payouts/{payout['id']}/paid")
        self.assertEqual(paid["status"], "paid")
        event = self.ok("GET", "/v1/events", headers=on_account)["data"][0]
        self.assertEqual((event["type"], event["account"]), ("payout.paid", account["id"]))
        status, _, _ = self.request("POST", f"/_test/payouts/{payout['id']}/paid")
        self.assertEqual(status, 400)

    def test_payouts_need_a_completed_onboarding(self):
        account = self.account()
        status, body, _ = self.api("POST", "/v1/payouts", {"amount": 100, "currency": "usd"},
                                   headers={"Stripe-Account": account["id"]})
        self.assertEqual((status, body["error"]["code"]), (400, "payouts_not_allowed"))


if __name__ == "__main__":
    unittest.main()
