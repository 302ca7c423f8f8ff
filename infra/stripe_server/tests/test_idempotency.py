"""Idempotency keys as Stripe keeps them: once a request has begun executing, its answer (errors
included: a decline, a refusal, a 500) is replayed to every request with the key for 24 hours of
server time; a refusal before execution (authentication, validation, rate limit) leaves the key
unused; a request with a key that is still executing gets 409. Also the test controls that
provoke these cases: /_test/failures, /_test/stalls and /_test/payment_intents/{id}/processing."""

import json
import threading
import time
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


    def test_a_key_is_kept_for_24_hours_of_server_time_then_runs_again(self):
        _, first, _ = self.create("key-8")
        self.control("POST", "/_test/clock/advance", {"seconds": 23 * 3600})
        status, again, headers = self.create("key-8")
        self.assertEqual((status, again, headers["Idempotent-Replayed"]), (200, first, "true"))
        self.control("POST", "/_test/clock/advance", {"seconds": 3600})
        status, second, headers = self.create("key-8")
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "false"))
        self.assertNotEqual(second["id"], first["id"])


class StoredErrorTest(ServerTest):
    """Errors the endpoint raised while executing are stored under the key like any answer."""

    def refund(self, intent_id, key, **params):
        return self.api("POST", "/v1/refunds", {"payment_intent": intent_id, **params},
                        headers={"Idempotency-Key": key})

    def fail(self, **rule):
        return self.control("POST", "/_test/failures", rule)["failures"]

    def test_a_500_once_executing_is_replayed_with_the_same_body(self):
        intent = self.paid_intent()
        self.fail(method="POST", path="/v1/refunds", params={"payment_intent": intent["id"]})
        status, first, headers = self.refund(intent["id"], "refund-1")
        self.assertEqual((status, first["error"]["type"]), (500, "api_error"))
        self.assertEqual(headers["Idempotent-Replayed"], "false")
        request_id = headers["Request-Id"]
        for _ in range(2):
            status, again, headers = self.refund(intent["id"], "refund-1")
            self.assertEqual((status, again), (500, first))
            self.assertEqual(headers["Idempotent-Replayed"], "true")
            self.assertEqual(headers["Original-Request"], request_id)
        # The failure changed nothing and is used up: only another key refunds.
        self.assertEqual(self.ok("GET", "/v1/refunds")["data"], [])
        self.assertEqual(self.control("GET", "/_test/failures")["failures"], [])
        status, refund, headers = self.refund(intent["id"], "refund-2")
        self.assertEqual((status, refund["amount"], headers["Idempotent-Replayed"]),
                         (200, 2000, "false"))

    def test_an_applied_500_keeps_the_change_but_replays_the_failure(self):
        intent = self.ok("POST", "/v1/payment_intents", {"amount": 2000, "currency": "usd"})
        cancel = f"/v1/payment_intents/{intent['id']}/cancel"
        self.fail(path=cancel, applied=True)
        status, first, _ = self.api("POST", cancel, headers={"Idempotency-Key": "cancel-1"})
        self.assertEqual((status, first["error"]["type"]), (500, "api_error"))
        self.assertEqual(self.ok("GET", f"/v1/payment_intents/{intent['id']}")["status"],
                         "canceled")
        status, again, headers = self.api("POST", cancel, headers={"Idempotency-Key": "cancel-1"})
        self.assertEqual((status, again, headers["Idempotent-Replayed"]), (500, first, "true"))
        self.assertEqual(self.event_types().count("payment_intent.canceled"), 1)

    def test_a_400_from_the_endpoint_is_replayed_even_once_the_request_would_pass(self):
        intent = self.ok("POST", "/v1/payment_intents", {"amount": 2000, "currency": "usd"})
        status, first, _ = self.refund(intent["id"], "refund-3")
        self.assertEqual((status, first["error"]["type"]), (400, "invalid_request_error"))
        self.assertIn("does not have a successful charge", first["error"]["message"])
        self.ok("POST", f"/v1/payment_intents/{intent['id']}/confirm",
                {"payment_method": "pm_card_visa"})
        status, again, headers = self.refund(intent["id"], "refund-3")
        self.assertEqual((status, again, headers["Idempotent-Replayed"]), (400, first, "true"))
        self.assertEqual(self.refund(intent["id"], "refund-4")[0], 200)

    def test_canceling_a_processing_intent_is_refused_and_the_refusal_replayed(self):
        intent = self.ok("POST", "/v1/payment_intents", {"amount": 2000, "currency": "usd"})
        processing = self.control("POST", f"/_test/payment_intents/{intent['id']}/processing")
        self.assertEqual(processing["status"], "processing")
        self.assertTrue(processing["payment_method"].startswith("pm_"))
        self.assertEqual(self.event_types()[-1], "payment_intent.processing")
        cancel = f"/v1/payment_intents/{intent['id']}/cancel"
        status, first, headers = self.api("POST", cancel, headers={"Idempotency-Key": "cancel-2"})
        self.assertEqual((status, first["error"]["code"], headers["Idempotent-Replayed"]),
                         (400, "payment_intent_unexpected_state", "false"))
        self.assertIn("status of processing", first["error"]["message"])
        self.assertEqual(first["error"]["payment_intent"]["status"], "processing")
        status, again, headers = self.api("POST", cancel, headers={"Idempotency-Key": "cancel-2"})
        self.assertEqual((status, again, headers["Idempotent-Replayed"]), (400, first, "true"))
        # Only an unconfirmed intent can start processing.
        status, body, _ = self.request("POST", f"/_test/payment_intents/{intent['id']}/processing")
        self.assertEqual(status, 400, body)
        # Its payment goes through when the network answers; then cancel is refused as paid.
        done = self.control("POST", f"/_test/payment_intents/{intent['id']}/processed")
        self.assertEqual((done["status"], done["amount_received"]), ("succeeded", 2000))
        self.assertEqual(self.event_types()[-1], "payment_intent.succeeded")
        status, body, _ = self.request("POST", f"/_test/payment_intents/{intent['id']}/processed")
        self.assertEqual(status, 400, body)

    def test_a_stored_failure_expires_after_24_hours_and_the_key_runs_again(self):
        intent = self.paid_intent()
        self.fail(path="/v1/refunds")
        self.assertEqual(self.refund(intent["id"], "refund-5")[0], 500)
        self.assertEqual(self.refund(intent["id"], "refund-5")[0], 500)
        self.control("POST", "/_test/clock/advance", {"seconds": 24 * 3600})
        status, refund, headers = self.refund(intent["id"], "refund-5")
        self.assertEqual((status, refund["object"], headers["Idempotent-Replayed"]),
                         (200, "refund", "false"))

    def test_refusals_before_execution_leave_the_key_unused(self):
        intent = self.paid_intent()
        refund = {"payment_intent": intent["id"]}
        key = {"Idempotency-Key": "refund-6"}
        # No API key, an unknown account, a malformed parameter, a rate limit.
        self.assertEqual(self.api("POST", "/v1/refunds", refund, key=None, headers=key)[0], 401)
        self.assertEqual(self.api("POST", "/v1/refunds", refund,
                                  headers={**key, "Stripe-Account": "acct_missing"})[0], 403)
        status, body, _ = self.api("POST", "/v1/refunds", {**refund, "amount": "ten"},
                                   headers=key)
        self.assertEqual((status, body["error"]["code"]), (400, "parameter_invalid_integer"))
        self.fail(path="/v1/refunds", error="rate_limit")
        status, body, _ = self.api("POST", "/v1/refunds", refund, headers=key)
        self.assertEqual((status, body["error"]["type"], body["error"]["code"]),
                         (429, "invalid_request_error", "rate_limit"))
        status, body, headers = self.api("POST", "/v1/refunds", refund, headers=key)
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "false"))
        self.assertEqual(body["amount"], 2000)

    def test_failures_match_method_path_prefix_and_parameters_and_are_used_up(self):
        one, two = self.paid_intent(), self.paid_intent()
        self.fail(method="post", path="/v1/refunds/", params={"payment_intent": two["id"]},
                  times=2)
        self.assertEqual(self.refund(one["id"], "r-1", amount=100)[0], 200)  # other parameters
        self.assertEqual(self.ok("GET", "/v1/refunds")["object"], "list")    # another method
        self.assertEqual(self.refund(two["id"], "r-2", amount=100)[0], 500)
        self.assertEqual(self.refund(two["id"], "r-2", amount=100)[0], 500)  # a replay: not used
        self.assertEqual(self.control("GET", "/_test/failures")["failures"], [{
            "method": "POST", "path": "/v1/refunds", "params": {"payment_intent": two["id"]},
            "times": 1, "error": "api_error", "applied": False}])
        self.assertEqual(self.refund(two["id"], "r-3", amount=100)[0], 500)
        self.assertEqual(self.refund(two["id"], "r-4", amount=100)[0], 200)
        # A prefix is of whole segments: it covers the paths below it, not a longer name.
        self.fail(path="/v1/refund")
        status, refund, _ = self.refund(one["id"], "r-5", amount=100)
        self.assertEqual(status, 200)
        self.fail(path="/v1/refunds")
        self.assertEqual(self.ok("GET", "/v1/charges")["object"], "list")
        status, _, _ = self.api("POST", f"/v1/refunds/{refund['id']}", {"metadata": {"a": "b"}})
        self.assertEqual(status, 500)

    def test_bad_failure_rules_are_refused(self):
        for rule in ({"error": "teapot"}, {"path": "/refunds"}, {"times": 0},
                     {"params": {"amount": 100}}, {"error": "rate_limit", "applied": True}):
            status, body, _ = self.request("POST", "/_test/failures", json.dumps(rule).encode(),
                                           {"Content-Type": "application/json"})
            self.assertEqual(status, 400, (rule, body))
        self.assertEqual(self.control("GET", "/_test/failures")["failures"], [])


class ConcurrencyTest(ServerTest):
    """A stall makes a request wait before executing with its key in progress."""

    def refund_in_background(self, intent_id, key):
        """Start a refund on another thread; the returned function joins it and answers
        (status, body, headers)."""
        result = []
        thread = threading.Thread(target=lambda: result.append(self.api(
            "POST", "/v1/refunds", {"payment_intent": intent_id},
            headers={"Idempotency-Key": key})))
        thread.start()

        def join():
            thread.join(10)
            self.assertFalse(thread.is_alive())
            return result[0]
        self.addCleanup(lambda: (self.control("POST", "/_test/stalls/release"), thread.join(10)))
        return join

    def test_a_request_with_a_key_in_progress_gets_409_and_later_the_first_answer(self):
        intent = self.paid_intent()
        self.control("POST", "/_test/stalls", {"method": "POST", "path": "/v1/refunds",
                                               "params": {"payment_intent": intent["id"]},
                                               "seconds": 30})
        first = self.refund_in_background(intent["id"], "refund-k")
        waited = self.control("POST", "/_test/stalls/wait", {"timeout": 10})
        self.assertTrue(waited["reached"])
        self.assertEqual([(s["path"], s["idempotency_key"]) for s in waited["stalled"]],
                         [("/v1/refunds", "refund-k")])
        self.assertEqual(waited["stalls"], [])

        status, body, headers = self.api("POST", "/v1/refunds", {"payment_intent": intent["id"]},
                                         headers={"Idempotency-Key": "refund-k"})
        self.assertEqual(status, 409)
        self.assertEqual(body["error"]["type"], "idempotency_error")
        self.assertEqual(body["error"]["code"], "idempotency_key_in_use")
        self.assertIn("another in-progress request", body["error"]["message"])
        self.assertNotIn("Idempotent-Replayed", headers)
        # Other parameters with the key are still a mismatch; other requests run meanwhile.
        status, body, _ = self.api("POST", "/v1/refunds",
                                   {"payment_intent": intent["id"], "amount": 5},
                                   headers={"Idempotency-Key": "refund-k"})
        self.assertEqual((status, body["error"]["type"]), (400, "idempotency_error"))
        self.assertEqual(self.ok("GET", "/v1/refunds")["data"], [])

        self.assertEqual(self.control("POST", "/_test/stalls/release"), {"released": 1})
        status, refund, headers = first()
        self.assertEqual((status, headers["Idempotent-Replayed"]), (200, "false"))
        status, again, headers = self.api("POST", "/v1/refunds", {"payment_intent": intent["id"]},
                                          headers={"Idempotency-Key": "refund-k"})
        self.assertEqual((status, again, headers["Idempotent-Replayed"]), (200, refund, "true"))
        self.assertEqual(len(self.ok("GET", "/v1/refunds")["data"]), 1)

    def test_a_stall_ends_by_itself_after_its_seconds(self):
        intent = self.paid_intent()
        self.control("POST", "/_test/stalls", {"path": "/v1/refunds", "seconds": 0.3})
        started = time.monotonic()
        status, _, _ = self.api("POST", "/v1/refunds", {"payment_intent": intent["id"]})
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(self.control("GET", "/_test/stalls"), {"stalls": [], "stalled": []})

    def test_waiting_for_a_stall_that_never_comes_times_out(self):
        waited = self.control("POST", "/_test/stalls/wait", {"timeout": 0.1})
        self.assertEqual((waited["reached"], waited["stalled"]), (False, []))

    def test_a_reset_lets_a_stalled_request_go_without_executing(self):
        intent = self.paid_intent()
        self.control("POST", "/_test/stalls", {"path": "/v1/refunds", "seconds": 30})
        first = self.refund_in_background(intent["id"], "refund-r")
        self.assertTrue(self.control("POST", "/_test/stalls/wait", {})["reached"])
        self.control("POST", "/_test/reset")
        status, body, _ = first()
        self.assertEqual((status, body["error"]["type"]), (500, "api_error"))
        self.assertEqual(self.ok("GET", "/v1/refunds")["data"], [])
        self.assertEqual(self.ok("GET", "/v1/events")["data"], [])
        # Nothing of the old request stays: the key is free in the new state.
        self.assertEqual(self.api("POST", "/v1/payment_intents", {"amount": 500, "currency": "usd"},
                                  headers={"Idempotency-Key": "refund-r"})[0], 200)


if __name__ == "__main__":
    unittest.main()
