"""Upload-creation latency against the emulator's raw PutItem, in one run.

`POST /files` should cost one DynamoDB write plus a local signature (no S3 call), so its
latency through the whole stack (gateway, authorizer, Lambda) is compared with a bare PutItem
to the same table. Run against a deployed stack: `source` its env file first (infra/up.sh prints
it), then `.tools/ministack/bin/python infra/bench_upload.py`.
"""

import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid

import boto3

N = int(os.environ.get("BENCH_N", "50"))


def main() -> None:
    base = urllib.parse.urlparse(os.environ["GIGWIRE_HTTP_URL"])
    emulator = os.environ["AWS_ENDPOINT_URL"]
    conn = http.client.HTTPConnection(base.hostname, base.port)

    def call(method, path, body=None, token=None):
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        conn.request(method, base.path + path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")

    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    status, _ = call("POST", "/auth/otp", {"email": email})
    assert status == 202, status
    code = None
    for _ in range(50):
        mail = json.load(urllib.request.urlopen(f"{emulator}/_ministack/ses/messages"))
        mine = [m for msgs in mail["messages"].values() for m in msgs if email in m["To"]]
        if mine:
            code = mine[-1]["Subject"].rsplit(" ", 1)[-1]
            break
        time.sleep(0.1)
    status, tokens = call("POST", "/auth/otp/verify", {"email": email, "code": code})
    assert status == 200, tokens
    token = tokens["accessToken"]

    body = {"purpose": "job_document", "fileName": "bench.pdf", "contentType": "application/pdf", "size": 1000}
    def timed(method, path, payload, expected):
        call(method, path, payload, token)  # warm the functions
        times = []
        for _ in range(N):
            start = time.perf_counter()
            status, _ = call(method, path, payload, token)
            times.append((time.perf_counter() - start) * 1000)
            assert status == expected, status
        return times

    handler = timed("POST", "/files", body, 201)
    # The same path (gateway, authorizer, one Lambda, one DynamoDB read) without the upload logic.
    me = timed("GET", "/me", None, 200)

    table = boto3.client("dynamodb", endpoint_url=emulator)
    name = os.environ["GIGWIRE_TABLE"]
    raw = []
    for i in range(N + 1):
        item = {"PK": {"S": f"BENCH#{uuid.uuid4()}"}, "SK": {"S": "BENCH"}, "n": {"N": str(i)}}
        start = time.perf_counter()
        table.put_item(TableName=name, Item=item)
        if i:  # the first call opens the connection
            raw.append((time.perf_counter() - start) * 1000)

    h, m, r = statistics.median(handler), statistics.median(me), statistics.median(raw)
    print(f"POST /files (gateway + authorizer + Lambda + PutItem + signature): median {h:.2f} ms, p90 {sorted(handler)[int(N * 0.9)]:.2f} ms")
    print(f"GET /me     (gateway + authorizer + Lambda + GetItem):             median {m:.2f} ms")
    print(f"raw PutItem to the same table:                                  median {r:.2f} ms")
    print(f"POST /files / raw PutItem: {h / r:.2f}x;  POST /files / GET /me: {h / m:.2f}x  (n={N})")


if __name__ == "__main__":
    sys.exit(main())
