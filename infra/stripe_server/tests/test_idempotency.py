"""Idempotency keys: a repeated request gets the first answer again, a reused key with other
parameters is an idempotency_error, and keys are forgotten after 24 hours of server time."""

import unittest

from .helpers import ServerTest

CREATE = {"amount": 2500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
          "metadata": {"booking": "b7"}}


class IdempotencyTest(ServerTest):
    def create(self, key, params=CREATE, **kwargs):
        return self.api("POST", "/v1/payment_intents", params,
                        headers={"Idempotency-Key": key, **kwargs})

    def test_the_same_request_again_replays_the_first_answer_and_changes_nothing(self):
        status, first, headers = self.create("key-1")
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "false"))
        status, again, headers = self.create("key-1")
        self.assertEqual(status, 200)
        self.assertEqual(again, first)
        self.assertEqual(headers["Idempotent-Replayed"], "true")
        self.assertEqual(headers["Idempotency-Key"], "key-1")
        self.assertEqual(len(self.ok("GET", "/v1/payment_intents")["data"]), 1)
        self.assertEqual(self.event_types().count("payment_intent.succeeded"), 1)

    def test_parameter_order_does_not_matter_but_values_do(self):
        self.create("key-2")
        reordered = dict(reversed(list(CREATE.items())))
        status, _, headers = self.create("key-2", reordered)
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "true"))
        status, body, _ = self.create("key-2", {**CREATE, "amount": 2600})
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["type"], "idempotency_error")
        self.assertIn("key-2", body["error"]["message"])

    def test_the_same_key_on_another_endpoint_is_an_idempotency_error(self):
        _, intent, _ = self.create("key-3")
        status, body, _ = self.api("POST", f"/v1/payment_intents/{intent['id']}/cancel", {},
                                   headers={"Idempotency-Key": "key-3"})
        self.assertEqual((status, body["error"]["type"]), (400, "idempotency_error"))

    def test_a_declined_card_answer_is_replayed_too(self):
        params = {**CREATE, "payment_method": "pm_card_chargeDeclined"}
        status, first, _ = self.create("key-4", params)
        self.assertEqual(status, 402)
        status, again, headers = self.create("key-4", params)
        self.assertEqual((status, again, headers["Idempotent-Replayed"]), (402, first, "true"))

    def test_a_request_refused_before_it_ran_leaves_the_key_unused(self):
        status, _, _ = self.create("key-5", {"currency": "usd"})
        self.assertEqual(status, 400)
        status, _, headers = self.create("key-5")
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "false"))

    def test_keys_expire_after_24_hours_of_server_time(self):
        _, first, _ = self.create("key-6")
        self.control("POST", "/_test/clock/advance", {"seconds": 24 * 3600 + 1})
        status, second, headers = self.create("key-6")
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "false"))
        self.assertNotEqual(second["id"], first["id"])

    def test_keys_belong_to_one_account(self):
        account = self.ok("POST", "/v1/accounts", {"type": "express"})
        _, platform_intent, _ = self.create("key-7")
        status, connected_intent, headers = self.create(
            "key-7", **{"Stripe-Account": account["id"]})
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "false"))
        self.assertNotEqual(connected_intent["id"], platform_intent["id"])


if __name__ == "__main__":
    unittest.main()
