"""The HTTP side: one threaded HTTP/1.1 server answering Stripe's API and the test controls.

Paths under `/_test/` go to the test controls (control.py), everything else to the API pipeline
(app.py), which answers Stripe's own 404 for paths it does not know.
"""

import argparse
import logging
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import control
from .app import DEFAULT_API_VERSION, App
from .webhooks import DEFAULT_SECRET, Endpoint

DEFAULT_PORT = 12111


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive like api.stripe.com: SDK connection pools reuse their connections.
    protocol_version = "HTTP/1.1"
    server_version = "stripe-test-server"

    def do_GET(self):
        self._answer()

    do_POST = do_DELETE = do_GET

    def _answer(self):
        url = urlsplit(self.path)
        # SDKs configured with a base URL ending in "/" send "//v1/…".
        path = re.sub("/+", "/", url.path)
        body = self._body()
        base_url = f"http://{self.headers.get('Host') or '%s:%d' % self.server.server_address}"
        app = self.server.app
        if path.startswith("/_test/"):
            response = control.handle(app, self.command, path, url.query, body, base_url)
        else:
            response = app.handle_api(self.command, path, url.query, self.headers, body, base_url)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF closing the chunk
                if size == 0:
                    return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format, *args):
        logging.getLogger("stripe_server.http").info("%s %s", self.address_string(), format % args)


def make_server(app, host="127.0.0.1", port=DEFAULT_PORT):
    """A server for `app` bound to host:port (port 0 picks a free one); call serve_forever."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    server.app = app
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(description="Stripe-compatible test server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("GIGWIRE_STRIPE_PORT", DEFAULT_PORT)))
    parser.add_argument("--webhook-url", action="append",
                        default=[u for u in [os.environ.get("GIGWIRE_STRIPE_WEBHOOK_URL")] if u],
                        help="endpoint to deliver events to (repeatable)")
    parser.add_argument("--webhook-secret",
                        default=os.environ.get("GIGWIRE_STRIPE_WEBHOOK_SECRET", DEFAULT_SECRET))
    parser.add_argument("--webhook-attempts", type=int, default=5,
                        help="delivery attempts per event and endpoint before giving up")
    parser.add_argument("--webhook-retry-base", type=float, default=0.5,
                        help="seconds before the first retry; doubled for each further one")
    parser.add_argument("--api-version", default=DEFAULT_API_VERSION,
                        help="API version of events until a client sends Stripe-Version")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    app = App([Endpoint(url, args.webhook_secret) for url in args.webhook_url],
              args.webhook_attempts, args.webhook_retry_base, args.webhook_secret,
              args.api_version)
    server = make_server(app, args.host, args.port)
    # SIGTERM (stripe.sh stop) ends serve_forever cleanly; shutdown must come from another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    logging.getLogger("stripe_server").warning(
        "listening on http://%s:%d", *server.server_address[:2])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
