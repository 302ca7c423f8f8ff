"""Webhook delivery: Stripe's signature, retries, ordering, and the controls for misbehaviour."""

import json
import time
import unittest

from .helpers import SECRET, Receiver, ServerTest, verify_signature


class WebhookTest(ServerTest):
    def receive(self, *statuses):
        receiver = Receiver(statuses or (200,))
        self.addCleanup(receiver.close)
        self.control("POST", "/_test/webhooks", {"url": receiver.url, "secret": SECRET})
        return receiver

    def now(self):
        return self.control("GET", "/_test/clock")["now"]

    def test_each_event_is_posted_signed_as_stripe_signs_in_creation_order(self):
        receiver = self.receive()
        intent = self.paid_intent()
        self.wait_for_webhooks()
        self.assertEqual([e["type"] for e in receiver.events()], [
            "payment_intent.created", "charge.succeeded", "payment_intent.succeeded"])
        for headers, body in receiver.deliveries:
            self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
            verify_signature(headers["Stripe-Signature"], body, SECRET, self.now())
        delivered = receiver.events()[-1]
        self.assertEqual(delivered["data"]["object"]["id"], intent["id"])
        self.assertEqual(delivered["data"]["object"]["status"], "succeeded")
        self.assertTrue(delivered["id"].startswith("evt_"))
        stored = self.ok("GET", f"/v1/events/{delivered['id']}")
        self.assertEqual(stored["pending_webhooks"], 0)
        self.assertIsNotNone(stored["request"]["id"])

    def test_an_event_carries_the_object_as_it_was_and_the_idempotency_key(self):
        self.receive()
        intent = self.ok("POST", "/v1/payment_intents", {"amount": 700, "currency": "usd"},
                         headers={"Idempotency-Key": "create-1"})
        self.ok("POST", f"/v1/payment_intents/{intent['id']}/cancel")
        created = self.events(type="payment_intent.created")[0]
        self.assertEqual(created["data"]["object"]["status"], "requires_payment_method")
        self.assertEqual(created["request"]["idempotency_key"], "create-1")

    def test_a_failed_delivery_is_retried_until_it_succeeds(self):
        receiver = self.receive(500, 503, 200)
        self.ok("POST", "/v1/payment_intents", {"amount": 700, "currency": "usd"})
        self.wait_for_webhooks()
        attempts = self.attempts_of(self.events()[0]["id"])
        self.assertEqual([(a["attempt"], a["status"], a["ok"]) for a in attempts],
                         [(1, 500, False), (2, 503, False), (3, 200, True)])
        self.assertEqual(len({e["id"] for e in receiver.events()}), 1)

    def test_an_unreachable_endpoint_is_retried_up_to_the_attempt_limit(self):
        receiver = self.receive()
        receiver.close()
        self.control("POST", "/_test/webhooks", {"max_attempts": 3})
        self.ok("POST", "/v1/payment_intents", {"amount": 700, "currency": "usd"})
        self.wait_for_webhooks()
        attempts = self.attempts_of(self.events()[0]["id"])
        self.assertEqual([(a["attempt"], a["status"]) for a in attempts],
                         [(1, None), (2, None), (3, None)])
        self.assertTrue(all(a["error"] for a in attempts))
        self.assertEqual(self.events()[0]["pending_webhooks"], 1)

    def test_paused_delivery_queues_events_until_resumed(self):
        receiver = self.receive()
        self.control("POST", "/_test/webhooks/pause")
        self.paid_intent()
        time.sleep(0.2)
        self.assertEqual(receiver.deliveries, [])
        self.assertEqual(self.control("GET", "/_test/webhooks")["queued"], 3)
        self.control("POST", "/_test/webhooks/resume")
        self.wait_for_webhooks()
        self.assertEqual(len(receiver.deliveries), 3)

    def test_events_can_be_redelivered_in_any_order_and_many_times_at_once(self):
        self.control("POST", "/_test/webhooks/pause")
        receiver = self.receive()
        self.paid_intent()
        created, charged, succeeded = [e["id"] for e in self.events()]
        attempts = self.control("POST", "/_test/webhooks/deliver",
                                {"event_ids": [succeeded, created, charged]})["attempts"]
        self.assertEqual([a["event_id"] for a in attempts], [succeeded, created, charged])
        self.assertEqual([e["id"] for e in receiver.events()], [succeeded, created, charged])
        attempts = self.control("POST", "/_test/webhooks/deliver", {
            "event_ids": [succeeded], "times": 10, "concurrent": True})["attempts"]
        self.assertEqual([a["status"] for a in attempts], [200] * 10)
        self.assertEqual([e["id"] for e in receiver.events()].count(succeeded), 11)

    def test_forged_and_stale_signatures_fail_verification(self):
        self.control("POST", "/_test/webhooks/pause")
        receiver = self.receive()
        self.ok("POST", "/v1/payment_intents", {"amount": 700, "currency": "usd"})
        event_id = self.events()[0]["id"]
        for signature, problem in (("forged", "bad signature"), ("stale", "stale timestamp")):
            self.control("POST", "/_test/webhooks/deliver",
                         {"event_ids": [event_id], "signature": signature})
            headers, body = receiver.deliveries[-1]
            with self.assertRaisesRegex(ValueError, problem):
                verify_signature(headers["Stripe-Signature"], body, SECRET, self.now())

    def test_a_signed_request_can_be_fetched_and_posted_by_the_test_itself(self):
        self.ok("POST", "/v1/payment_intents", {"amount": 700, "currency": "usd"})
        event = self.events()[0]
        signed = self.control("POST", "/_test/webhooks/sign",
                              {"event_id": event["id"], "secret": SECRET})
        payload = signed["payload"].encode()
        verify_signature(signed["headers"]["Stripe-Signature"], payload, SECRET, self.now())
        self.assertEqual(json.loads(payload)["id"], event["id"])

    def test_signatures_use_the_advanced_clock(self):
        receiver = self.receive()
        before = self.now()
        self.control("POST", "/_test/clock/advance", {"seconds": 3600})
        intent = self.ok("POST", "/v1/payment_intents", {"amount": 700, "currency": "usd"})
        self.wait_for_webhooks()
        self.assertGreaterEqual(intent["created"], before + 3600)
        headers, body = receiver.deliveries[0]
        stamped = verify_signature(headers["Stripe-Signature"], body, SECRET, self.now())
        self.assertGreaterEqual(stamped, before + 3600)
        with self.assertRaisesRegex(ValueError, "stale"):
            verify_signature(headers["Stripe-Signature"], body, SECRET, int(time.time()))

    def test_controls_refuse_unknown_events_and_bad_bodies(self):
        status, _, _ = self.request("POST", "/_test/webhooks/deliver",
                                    json.dumps({"event_ids": ["evt_nothing"]}).encode())
        self.assertEqual(status, 404)
        status, _, _ = self.request("POST", "/_test/clock/advance", b"{not json")
        self.assertEqual(status, 400)


if __name__ == "__main__":
    unittest.main()
