"""Stripe's wire format: API keys, bracket-notation parameters, errors, lists, expand, accounts."""

import base64
import unittest

from .helpers import KEY, ServerTest


class AuthenticationTest(ServerTest):
    def test_a_request_without_an_api_key_is_refused_with_401(self):
        status, body, _ = self.api("GET", "/v1/payment_intents", key=None)
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["type"], "invalid_request_error")
        self.assertIn("You did not provide an API key", body["error"]["message"])

    def test_a_live_or_malformed_key_is_refused_with_401(self):
        for key in ("sk_live_abcdefghijklmnop", "pk_test_abcdefghijkl", "nonsense"):
            status, body, _ = self.api("GET", "/v1/payment_intents", key=key)
            self.assertEqual(status, 401, key)
            self.assertEqual(body["error"]["code"], "api_key_invalid")
        _, body, _ = self.api("GET", "/v1/payment_intents", key="pk_test_abcdefghijkl")
        self.assertEqual(body["error"]["message"],
                         "Invalid API Key provided: pk_test_************ijkl")

    def test_an_unknown_key_is_refused_with_stripes_401_before_anything_runs(self):
        status, body, headers = self.api(
            "POST", "/v1/payment_intents", {"amount": 2000, "currency": "usd"},
            key="sk_live_51Hx0000000000000000000000", headers={"Idempotency-Key": "k-401"})
        self.assertEqual(status, 401)
        self.assertEqual(body["error"], {
            "type": "invalid_request_error", "code": "api_key_invalid",
            "doc_url": "https://stripe.com/docs/error-codes/api-key-invalid",
            "message": "Invalid API Key provided: sk_live_************0000"})
        self.assertTrue(headers["Request-Id"].startswith("req_"))
        self.assertEqual(self.ok("GET", "/v1/payment_intents")["data"], [])
        self.assertEqual(self.events(), [])
        status, _, headers = self.api("POST", "/v1/payment_intents",
                                      {"amount": 2000, "currency": "usd"},
                                      headers={"Idempotency-Key": "k-401"})
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "false"))

    def test_the_key_may_come_as_basic_auth_user_name_like_curl_u(self):
        basic = base64.b64encode(f"{KEY}:".encode()).decode()
        status, _, _ = self.api("GET", "/v1/payment_intents", key=None,
                                headers={"Authorization": f"Basic {basic}"})
        self.assertEqual(status, 200)

    def test_answers_carry_a_request_id_and_the_api_version(self):
        _, _, headers = self.api("GET", "/v1/payment_intents",
                                 headers={"Stripe-Version": "2025-04-30.basil"})
        self.assertTrue(headers["Request-Id"].startswith("req_"))
        self.assertEqual(headers["Stripe-Version"], "2025-04-30.basil")


class ParametersAndErrorsTest(ServerTest):
    def test_bracket_notation_arrays_and_hashes_are_read_in_both_sdk_styles(self):
        for indexed in (True, False):
            intent = self.ok("POST", "/v1/payment_intents", {
                "amount": 1000, "currency": "USD", "payment_method_types": ["card"],
                "metadata": {"booking": "b1", "0": "numeric keys stay keys"}}, indexed=indexed)
            self.assertEqual(intent["payment_method_types"], ["card"])
            self.assertEqual(intent["metadata"], {"booking": "b1", "0": "numeric keys stay keys"})
            self.assertEqual(intent["currency"], "usd")
            self.assertIsNone(intent["automatic_payment_methods"])

    def test_a_missing_required_parameter_is_named(self):
        status, body, _ = self.api("POST", "/v1/payment_intents", {"currency": "usd"})
        self.assertEqual(status, 400)
        self.assertEqual(body["error"], {
            "type": "invalid_request_error", "code": "parameter_missing", "param": "amount",
            "message": "Missing required param: amount.",
            "doc_url": "https://stripe.com/docs/error-codes/parameter-missing"})

    def test_unknown_and_malformed_parameters_are_refused(self):
        status, body, _ = self.api("POST", "/v1/payment_intents",
                                   {"amount": 100, "currency": "usd", "colour": "red"})
        self.assertEqual((status, body["error"]["code"], body["error"]["param"]),
                         (400, "parameter_unknown", "colour"))
        status, body, _ = self.api("POST", "/v1/payment_intents",
                                   {"amount": "ten", "currency": "usd"})
        self.assertEqual((status, body["error"]["code"]), (400, "parameter_invalid_integer"))
        status, body, _ = self.api("POST", "/v1/payment_intents",
                                   {"amount": 10, "currency": "usd"})
        self.assertEqual((status, body["error"]["code"]), (400, "amount_too_small"))

    def test_an_unknown_object_is_404_resource_missing(self):
        status, body, _ = self.api("GET", "/v1/payment_intents/pi_nothing")
        self.assertEqual(status, 404)
        self.assertEqual(body["error"]["code"], "resource_missing")
        self.assertEqual(body["error"]["message"], "No such payment_intent: 'pi_nothing'")

    def test_an_unknown_url_is_404_like_stripe(self):
        status, body, _ = self.api("GET", "/v1/spaceships")
        self.assertEqual(status, 404)
        self.assertIn("Unrecognized request URL (GET: /v1/spaceships)", body["error"]["message"])

    def test_a_base_url_with_a_trailing_slash_still_reaches_the_api(self):
        status, _, _ = self.api("GET", "//v1/payment_intents")
        self.assertEqual(status, 200)


class ListsAndExpandTest(ServerTest):
    def test_lists_are_newest_first_and_page_with_cursors(self):
        ids = [self.paid_intent(amount=1000 + i)["id"] for i in range(5)]
        first = self.ok("GET", "/v1/payment_intents", {"limit": 2})
        self.assertEqual([i["id"] for i in first["data"]], ids[:2:-1][:2])
        self.assertTrue(first["has_more"])
        self.assertEqual(first["url"], "/v1/payment_intents")
        rest = self.ok("GET", "/v1/payment_intents",
                       {"limit": 10, "starting_after": first["data"][-1]["id"]})
        self.assertEqual([i["id"] for i in rest["data"]], ids[2::-1])
        self.assertFalse(rest["has_more"])
        before = self.ok("GET", "/v1/payment_intents", {"ending_before": ids[0]})
        self.assertEqual([i["id"] for i in before["data"]], ids[:0:-1])

    def test_expand_replaces_ids_with_objects_also_nested_and_in_lists(self):
        intent = self.paid_intent()
        expanded = self.ok("GET", f"/v1/payment_intents/{intent['id']}",
                           {"expand": ["latest_charge.balance_transaction", "payment_method"]})
        charge = expanded["latest_charge"]
        self.assertEqual(charge["object"], "charge")
        self.assertEqual(charge["balance_transaction"]["object"], "balance_transaction")
        self.assertEqual(expanded["payment_method"]["card"]["last4"], "4242")
        listed = self.ok("GET", "/v1/payment_intents", {"expand": ["data.latest_charge"]})
        self.assertEqual(listed["data"][0]["latest_charge"]["id"], charge["id"])
        status, body, _ = self.api("GET", f"/v1/payment_intents/{intent['id']}",
                                   {"expand": ["amount"]})
        self.assertEqual(status, 400)


class ConnectedAccountHeaderTest(ServerTest):
    def test_objects_made_on_a_connected_account_are_invisible_elsewhere(self):
        account = self.ok("POST", "/v1/accounts", {"type": "express"})
        on_account = {"Stripe-Account": account["id"]}
        intent = self.ok("POST", "/v1/payment_intents", {"amount": 900, "currency": "usd"},
                         headers=on_account)
        self.ok("GET", f"/v1/payment_intents/{intent['id']}", headers=on_account)
        status, _, _ = self.api("GET", f"/v1/payment_intents/{intent['id']}")
        self.assertEqual(status, 404)
        created = self.events(type="payment_intent.created")
        self.assertEqual(created, [])
        on_account_events = self.ok("GET", "/v1/events", headers=on_account)["data"]
        self.assertEqual(on_account_events[0]["account"], account["id"])
        self.assertEqual(self.ok("GET", "/v1/account", headers=on_account)["id"], account["id"])

    def test_an_unknown_connected_account_is_refused(self):
        status, body, _ = self.api("GET", "/v1/balance", headers={"Stripe-Account": "acct_none"})
        self.assertEqual(status, 403)
        self.assertEqual(body["error"]["code"], "account_invalid")


if __name__ == "__main__":
    unittest.main()
