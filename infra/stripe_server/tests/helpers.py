"""What every test of the Stripe test server shares: a server per test class, HTTP helpers that
encode parameters as Stripe clients do, and a webhook receiver that records what it is sent."""

import hashlib
import hmac
import json
import threading
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from stripe_server.app import App
from stripe_server.server import make_server

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # tests look at redirects; following one could leave this machine


_opener = urllib.request.build_opener(_NoRedirects)
SECRET = "whsec_test_endpoint"


def encode(params, prefix=None, indexed=True):
    """Form-encode nested dicts and lists in Stripe's bracket notation; lists as `a[0]=…` like
    async-stripe (serde_qs) or, with indexed=False, as `a[]=…` like Stripe's other SDKs."""
    pairs = []
    items = params.items() if isinstance(params, dict) else enumerate(params)
    for key, value in items:
        if prefix is None:
            name = str(key)
        elif isinstance(params, list) and not indexed:
            name = f"{prefix}[]"
        else:
            name = f"{prefix}[{key}]"
        if isinstance(value, (dict, list)):
            pairs.append(encode(value, name, indexed))
        else:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            pairs.append(f"{quote(name, safe='')}={quote(text, safe='')}")
    return "&".join(p for p in pairs if p)


def verify_signature(header, payload, secret, now, tolerance=300):
    """Check a Stripe-Signature header as Stripe's libraries do; returns its timestamp."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload,
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["v1"]):
        raise ValueError("bad signature")
    if abs(now - timestamp) > tolerance:
        raise ValueError("stale timestamp")
    return timestamp


class Receiver:
    """A webhook endpoint on a free port that answers with the given statuses in turn (the last
    one repeating) and records each delivery as (headers, body bytes)."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.deliveries = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.deliveries.append((dict(self.headers), body))
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 \
                        else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"
        # A short poll interval makes shutdown (once per test) quick.
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def events(self):
        with self.lock:
            return [json.loads(body) for _, body in self.deliveries]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ServerTest(unittest.TestCase):
    """Runs one server per test class (fast retries for the webhook tests) and resets its state,
    webhook endpoints and settings before each test."""

    @classmethod
    def setUpClass(cls):
        cls.app = App(max_attempts=4, retry_base=0.05)
        cls.server = make_server(cls.app, "127.0.0.1", 0)
        cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"
        threading.Thread(target=cls.server.serve_forever, args=(0.05,), daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.control("POST", "/_test/reset")
        self.control("POST", "/_test/webhooks", {"endpoints": [], "max_attempts": 4,
                                                 "retry_base": 0.05})
        self.control("POST", "/_test/webhooks/resume")

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON body or None, headers) of one raw HTTP request."""
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers=headers or {})
        try:
            with _opener.open(request, timeout=10) as response:
                status, raw, answer = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, answer = error.code, error.read(), error.headers
        return status, json.loads(raw) if raw else None, answer

    def api(self, method, path, params=None, key=KEY, headers=None, indexed=True):
        """Call Stripe's API as an SDK does: (status, body, headers)."""
        headers = dict(headers or {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        query = encode(params or {}, indexed=indexed)
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return self.request(method, path, query.encode(), headers)
        return self.request(method, path + ("?" + query if query else ""), None, headers)

    def ok(self, method, path, params=None, **kwargs):
        """The object a successful API call answers (failing the test on any error)."""
        status, body, _ = self.api(method, path, params, **kwargs)
        self.assertEqual(status, 200, body)
        return body

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        status, answer, _ = self.request(method, path, data,
                                         {"Content-Type": "application/json"})
        self.assertEqual(status, 200, answer)
        return answer

    def control_refusal(self, method, path, body=None):
        """(status, message) of a test control that must refuse the request."""
        data = json.dumps(body).encode() if body is not None else None
        status, answer, _ = self.request(method, path, data,
                                         {"Content-Type": "application/json"})
        self.assertNotEqual(status, 200, answer)
        return status, answer["error"]["message"]

    def events(self, **params):
        """The events recorded so far, oldest first."""
        return list(reversed(self.ok("GET", "/v1/events", {"limit": 100, **params})["data"]))

    def event_types(self, **params):
        return [e["type"] for e in self.events(**params)]

    def paid_intent(self, amount=2000, **params):
        """A PaymentIntent paid in full by card."""
        return self.ok("POST", "/v1/payment_intents", {
            "amount": amount, "currency": "usd", "payment_method": "pm_card_visa",
            "confirm": True, **params})

    def attempts_of(self, event_id):
        """The delivery attempts of one event, in order (a delivery left over from an earlier
        test may still be recorded after a reset, so tests look at their own event)."""
        return self.control("GET", f"/_test/webhooks/attempts?event_id={event_id}")["attempts"]

    def wait_for_webhooks(self):
        self.assertTrue(self.control("POST", "/_test/webhooks/wait", {"timeout": 10})["idle"])
