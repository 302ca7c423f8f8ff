"""Cold-start benchmark of every function.

Functions of one feature share that feature's binary and pick their handler from
GIGWIRE_FUNCTION, as the template sets it; the list of (function, binary) is read from
template.yaml. For each function: start its binary as Lambda would (AWS_LAMBDA_RUNTIME_API pointing at a local stand-in
of the Runtime API), and measure the time from process start until its first request for an
event, and its resident memory at that moment. Median of N runs (in rounds that start every
function once, so the machine's slow spells fall on all alike), plus the binary's size, printed
against the budgets as ratios (≤ 1.00 is within budget): every function's init within 2 ms of
the median function's (measured in the same run, so the machine's speed cancels out), RSS at
most 12 MiB, a stripped binary at most 10 MiB. Standard library only.

The token-issuing functions start reading their signing key from SSM at init, and the
functions that call Stripe its secrets (in the background: the read overlaps with the wait for
the first event), so they need a reachable SSM: with --emulator URL (a
running local emulator) the key and the secrets are stored there with the gigwire-keys binary
from the same folder and those functions are measured against it (a local round trip: on AWS
add a TLS handshake with SSM); without it they are skipped.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Init: how far above the median function's init (ms) a function may be.
BUDGET_INIT_SPREAD_MS = 2.0
BUDGET_RSS_MIB = 12.0
BUDGET_SIZE_MIB = 10.0

# What Config::from_env and the SDK's standard environment need; nothing is contacted (except
# SSM by the issuing functions, see --emulator). The public key is a valid dummy.
ENV = {
    "TABLE_NAME": "bench", "BUCKET_NAME": "bench", "APP_SECRET": "k" * 32,
    "JWT_PUBLIC_KEYS": "bench-0:" + "A" * 43,
    "JWT_ISSUER": "gigwire", "JWT_AUDIENCE": "gigwire-api", "EMAIL_FROM": "no-reply@example.com",
    "WS_MANAGEMENT_ENDPOINT": "https://example.execute-api.us-east-1.amazonaws.com/dev",
    "STAGE": "bench", "OTP_REQUESTS_PER_IP": "30", "MAX_UPLOAD_BYTES": "10485760", "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "RUST_LOG": "info",
    "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_FORMAT": "JSON",
}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


KEY_PARAMETER = "/gigwire/bench/jwt-signing-key/bench-1"
# Stripe's secrets, as the functions that call Stripe find them (their client is built at init,
# nothing is called).
STRIPE_SECRETS = {"STRIPE_SECRET_KEY_PARAMETER": ("/gigwire/bench/stripe/secret-key", "sk_test_bench"),
                  "STRIPE_WEBHOOK_SECRET_PARAMETER": ("/gigwire/bench/stripe/webhook-secret", "whsec_bench")}


def emulator_env(url: str) -> dict[str, str]:
    # The emulator checks signatures: its default test credentials.
    return {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def create_key(binaries: Path, url: str) -> str:
    """Stores the bench signing key in the emulator's SSM (once); returns its public entry."""
    env = {**os.environ, **ENV, **emulator_env(url)}
    done = subprocess.run([str(binaries / "gigwire-keys"), "create", "--parameter", KEY_PARAMETER,
                           "--kid", "bench-1", "--if-missing"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"gigwire-keys failed: {done.stderr.strip()}")
    return done.stdout.strip()


def store_secrets(binaries: Path, url: str) -> None:
    """Stores Stripe's bench secrets in the emulator's SSM."""
    env = {**os.environ, **ENV, **emulator_env(url)}
    for parameter, value in STRIPE_SECRETS.values():
        done = subprocess.run([str(binaries / "gigwire-keys"), "secret", "--parameter", parameter, "--overwrite"],
                              env=env, input=value + "\n", capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"gigwire-keys failed: {done.stderr.strip()}")


def one_run(binary: Path, extra: dict[str, str]) -> tuple[float, float]:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    env = {**ENV, **extra, "PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}"}
    if os.environ.get("SSL_CERT_FILE"):
        env["SSL_CERT_FILE"] = os.environ["SSL_CERT_FILE"]
    start = time.perf_counter()
    proc = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        server.settimeout(10)
        try:
            conn, _ = server.accept()
        except TimeoutError:
            proc.kill()
            raise RuntimeError(f"{binary.name} never polled for an event: {proc.communicate()[1][-500:]!r}")
        conn.settimeout(10)
        data = b""
        while b"\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        elapsed_ms = (time.perf_counter() - start) * 1000
        if b"/runtime/invocation/next" not in data.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"{binary.name}: unexpected first request {data[:80]!r}")
        rss = rss_mib(proc.pid)
        conn.close()
        return elapsed_ms, rss
    finally:
        proc.kill()
        proc.wait()
        server.close()


def deployed_functions(template: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """function name -> (binary, the SSM parameters it reads at cold start as environment), from
    each function's CodeUri, GIGWIRE_FUNCTION and `*_PARAMETER` variables."""
    text = template.read_text()
    found = {}
    for block in re.split(r"\n  (?=[A-Za-z0-9]+Function:\n)", text):
        pair = re.search(r"CodeUri: target/lambda/([a-z-]+)/\n(?:.*\n)*?\s+GIGWIRE_FUNCTION: ([a-z-]+)", block)
        if not pair:
            continue
        reads = {}
        if "JWT_SIGNING_KEY_PARAMETER" in block:
            reads["JWT_SIGNING_KEY_PARAMETER"] = KEY_PARAMETER
        for variable, (parameter, _) in STRIPE_SECRETS.items():
            if f"{variable}:" in block:
                reads[variable] = parameter
        found[pair.group(2)] = (pair.group(1), reads)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binaries", type=Path, help="folder with the release binaries (target/release)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--template", type=Path, default=Path(__file__).resolve().parent.parent / "template.yaml")
    parser.add_argument("--emulator", help="URL of a running local emulator, for the SSM reads at cold start")
    parser.add_argument("--only", nargs="*", help="measure only these functions")
    args = parser.parse_args()
    if args.emulator:
        create_key(args.binaries, args.emulator)
        store_secrets(args.binaries, args.emulator)
    functions = deployed_functions(args.template)
    if args.only:
        functions = {n: f for n, f in functions.items() if n in args.only}
    started = []
    for name, (binary_name, reads) in sorted(functions.items()):
        binary = args.binaries / binary_name
        label = f"{name} ({binary_name})"
        if not binary.exists():
            print(f"{label:<32}  (not built)")
            continue
        extra = {"GIGWIRE_FUNCTION": name, **reads}
        if reads:
            if not args.emulator:
                print(f"{label:<32}  (skipped: reads secrets from SSM, pass --emulator)")
                continue
            extra.update(emulator_env(args.emulator))
        one_run(binary, extra)  # warm the page cache: Lambda's first start reads from a local disk too
        started.append((label, binary, extra))
    # Round robin: each round starts every function once, so a slow spell of the machine (a
    # background task, a frequency change) falls on all functions alike rather than on the few
    # measured during it; the spread to the median then shows the code, not the moment.
    runs = {label: [] for label, _, _ in started}
    for _ in range(args.runs):
        for label, binary, extra in started:
            runs[label].append(one_run(binary, extra))
    measured = []
    for label, binary, _ in started:
        init = statistics.median(r[0] for r in runs[label])
        rss = statistics.median(r[1] for r in runs[label])
        size = binary.stat().st_size / (1024 * 1024)
        measured.append((label, init, rss, size))
    if not measured:
        return
    median = statistics.median(m[1] for m in measured)
    print(f"median init: {median:.2f} ms; init ratio = (init - median) / {BUDGET_INIT_SPREAD_MS} ms")
    print(f"{'function':<32}{'init ms':>9}{'ratio':>7}{'RSS MiB':>9}{'ratio':>7}{'size MiB':>10}{'ratio':>7}")
    worst = 0.0
    for label, init, rss, size in measured:
        ratios = ((init - median) / BUDGET_INIT_SPREAD_MS, rss / BUDGET_RSS_MIB, size / BUDGET_SIZE_MIB)
        worst = max(worst, *ratios)
        print(f"{label:<32}{init:>9.2f}{ratios[0]:>7.2f}{rss:>9.2f}{ratios[1]:>7.2f}{size:>10.2f}{ratios[2]:>7.2f}")
    print(f"worst ratio to budget: {worst:.2f} ({'within' if worst <= 1 else 'OVER'} budget)")


if __name__ == "__main__":
    sys.exit(main())
