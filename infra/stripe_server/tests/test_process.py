"""The server as it is run: the entry script from the command line, and infra/stripe.sh."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import unittest
import urllib.request

INFRA = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ProcessTest(unittest.TestCase):
    def test_the_entry_script_serves_on_the_port_it_is_given(self):
        server = subprocess.Popen(
            [sys.executable, os.path.join(INFRA, "stripe_server.py"), "--port", "0", "--quiet"],
            stderr=subprocess.PIPE, text=True)
        self.addCleanup(server.wait, 5)
        self.addCleanup(server.terminate)
        url = re.search(r"listening on (http://\S+)", server.stderr.readline()).group(1)
        self.assertEqual(_get(url + "/_test/health")["status"], "ok")

    def test_stripe_sh_starts_once_refuses_a_foreign_port_and_stops(self):
        script = os.path.join(INFRA, "stripe.sh")
        port = _free_port()
        env = {**os.environ, "GIGWIRE_STRIPE_PORT": str(port)}

        def run(*args, port_env=env):
            return subprocess.run([script, *args], env=port_env, capture_output=True, text=True,
                                  timeout=30)

        self.addCleanup(shutil.rmtree, os.path.join(os.path.dirname(INFRA), ".tools",
                                                    f"stripe-{port}"), ignore_errors=True)
        self.addCleanup(run, "stop")
        started = run("start")
        self.assertEqual(started.returncode, 0, started.stderr)
        url = started.stdout.strip()
        self.assertEqual(url, run("url").stdout.strip())
        self.assertEqual(_get(url + "/_test/health")["status"], "ok")
        self.assertEqual(run("start").stdout.strip(), url, "a second start reuses the server")

        with socket.socket() as foreign:
            foreign.bind(("127.0.0.1", 0))
            foreign.listen()
            other = {**env, "GIGWIRE_STRIPE_PORT": str(foreign.getsockname()[1])}
            refused = run("start", port_env=other)
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("already served", refused.stderr)

        self.assertEqual(run("stop").returncode, 0)
        with self.assertRaises(OSError):
            _get(url + "/_test/health")


if __name__ == "__main__":
    unittest.main()
