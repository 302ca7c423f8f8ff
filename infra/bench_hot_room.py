"""Chat sends into one hot room: throughput, latency and retries when many senders collide.

For each sender count (--senders, default 1,5,20,50) and each deployed stack (--env-file,
repeatable, named by --label in the same order), signs in that many fresh users plus a reader,
has the reader create a group room with them all, then fires every sender's --messages sends
(default 10) at once, one thread per message, retrying as docs/chat.md says: on 429 after
Retry-After; on 409 `conflict` with the same clientMessageId after Retry-After (else a short
wait); on 5xx or a dropped connection also with the same clientMessageId, after a jittered
backoff doubling from 0.25 s up to 8 s (a body saying "Task timed out" counts as a timeout);
a send is given up --give-up seconds after its first try.

Per run it reports messages/s for the room (accepted messages / wall time from the first send
to the last success), p50/p95/p99 of every HTTP request and of every message from its first try
to its success, attempts per message, the 429, 409, timeout and other 5xx answers, and the
machine's load average at the end. Then it checks what the reader sees: history read by
`afterSeq` resume and by `before` pages holds every accepted message exactly once, `seq` runs
1..N without gaps, no clientMessageId twice, and the reader's unread badge is N; messages that
committed although their sender never got an answer are counted too.

Runs alternate between the stacks for each sender count, so before/after figures come from one
run. `--primitives OPS` instead times the two ways of taking a room's next number raw against
the table (see docs/chat.md, "Numbering under contention"). Every sign-in comes from 127.0.0.1: deploy with `--param OtpRequestsPerIp=100000` as
infra/test.sh does (each address is fresh and asks for one code, far below the per-address
limits). Standard library only:

    python3 infra/bench_hot_room.py --label before --env-file before.env \\
        --label after --env-file after.env --senders 1,5,20,50 --messages 10
"""
from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import math
import os
import random
import shlex
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

HTTP_TIMEOUT_SECS = 60


def read_env(env_file: str) -> dict[str, str]:
    """The `export NAME=value` lines of a deployed stack's env file."""
    env = {}
    for line in Path(env_file).read_text().splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export":
            key, _, value = words[1].partition("=")
            env[key] = value
    return env


class Stack:
    def __init__(self, label: str, env_file: str):
        env = read_env(env_file)
        self.label, self.http, self.emulator = label, env["GIGWIRE_HTTP_URL"], env["AWS_ENDPOINT_URL"]

    def call(self, method: str, path: str, body=None, token: str | None = None):
        """(status, headers, JSON body or text); network errors raise OSError/HTTPException."""
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.http + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECS) as r:
                status, headers, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, raw = e.code, e.headers, e.read()
        try:
            return status, headers, json.loads(raw or b"null")
        except ValueError:
            return status, headers, raw.decode(errors="replace")

    def ok(self, method: str, path: str, body=None, token: str | None = None, expect=(200,)):
        for _ in range(5):  # setup and checks: retry only the stack's own failures
            status, _, data = self.call(method, path, body, token)
            if status < 500:
                break
            time.sleep(0.5)
        if status not in expect:
            raise RuntimeError(f"{self.label}: {method} {path} answered {status}: {str(data)[:300]}")
        return data

    def sign_in(self, n: int) -> list[dict]:
        """n fresh users, concurrently: codes requested at once, read from one mailbox poll."""
        emails = [f"hot-{i}-{uuid.uuid4().hex[:12]}@example.com" for i in range(n)]
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            list(pool.map(lambda e: self.ok("POST", "/auth/otp", {"email": e}, expect=(202,)), emails))
            codes: dict[str, str] = {}
            deadline = time.monotonic() + 60
            while len(codes) < n:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.label}: no code for {n - len(codes)} of {n} addresses")
                time.sleep(0.2)
                with urllib.request.urlopen(f"{self.emulator}/_ministack/ses/messages", timeout=30) as r:
                    mail = json.load(r)["messages"]
                for m in (m for msgs in mail.values() for m in msgs):
                    for to in set(m.get("To", [])) & set(emails):
                        codes[to] = m["Subject"].rsplit(" ", 1)[-1]
            verify = lambda e: self.ok("POST", "/auth/otp/verify", {"email": e, "code": codes[e]})
            return [{"token": t["accessToken"], "id": t["user"]["id"]} for t in pool.map(verify, emails)]


def send(stack: Stack, room: str, token: str, cmid: str, gate: threading.Event, give_up: float) -> dict:
    """One message, retried until accepted; what each attempt took and answered."""
    out = {"cmid": cmid, "requests": [], "answers": Counter(), "message": None, "latency": None,
           "done": None, "error": None}
    gate.wait()
    first = time.perf_counter()
    while time.perf_counter() - first < give_up:
        start = time.perf_counter()
        try:
            status, headers, body = stack.call("POST", f"/rooms/{room}/messages",
                                               {"clientMessageId": cmid, "text": f"hot room {cmid}"}, token)
        except (OSError, http.client.HTTPException) as e:
            status, headers, body = 0, {}, repr(e)
        out["requests"].append(time.perf_counter() - start)
        if status in (200, 201):
            out["answers"][status] += 1
            out["done"] = time.perf_counter()
            out["message"], out["latency"] = body, out["done"] - first
            return out
        retry_after = float(headers.get("retry-after") or 0)
        if status == 429:  # ours say rate_limited; the emulator's own Lambda throttle does not
            limited = isinstance(body, dict) and body.get("error", {}).get("code") == "rate_limited"
            out["answers"][429 if limited else "throttled"] += 1
            time.sleep(retry_after or 1)
        elif status == 409:
            out["answers"][409] += 1
            time.sleep(retry_after or random.uniform(0.05, 0.25))
        elif status == 0 or status >= 500:
            out["answers"]["timeout" if status == 0 or "Task timed out" in str(body) else "5xx"] += 1
            failures = out["answers"]["timeout"] + out["answers"]["5xx"]
            time.sleep(retry_after or random.uniform(0, min(8.0, 0.25 * 2 ** failures)))
        else:
            out["error"] = f"{status} {str(body)[:200]}"
            return out
    out["error"] = f"not accepted within {give_up:.0f} s; last answer {status} {str(body)[:150]}"
    return out


def history_problems(stack: Stack, room: str, reader: str, sent: list[dict]) -> list[str]:
    """What is wrong with the room as the reader sees it (empty: nothing)."""
    forward, after, stalls = [], 0, 0
    while True:  # afterSeq resume, in seq order; a page stops before a gap not yet filled
        page = stack.ok("GET", f"/rooms/{room}/messages?limit=100&afterSeq={after}", token=reader)
        forward += page["items"]
        after, last_seq = (forward[-1]["seq"] if forward else 0), page["lastSeq"]
        if after >= last_seq and not page["hasMore"]:
            break
        if not page["items"]:
            stalls += 1
            if stalls > 20:
                break
            time.sleep(0.25)
    back, query = [], ""
    while True:  # newest first, by `before` pages
        page = stack.ok("GET", f"/rooms/{room}/messages?limit=100{query}", token=reader)
        back += page["items"]
        if not page["hasMore"] or not page["items"]:
            break
        query = f"&before={page['items'][-1]['id']}"
    problems = []
    seqs = [m["seq"] for m in forward]
    if seqs != list(range(1, last_seq + 1)):
        missing = sorted(set(range(1, last_seq + 1)) - set(seqs))
        twice = [s for s, c in Counter(seqs).items() if c > 1]
        problems.append(f"afterSeq: {len(seqs)} items, lastSeq {last_seq}, missing {missing[:10]}, twice {twice[:10]}")
    accepted = {s["message"]["id"]: s["message"] for s in sent if s["message"]}
    for name, items in (("afterSeq", forward), ("before", back)):
        seen = Counter(m["id"] for m in items)
        if wrong := sum(seen[i] != 1 for i in accepted):
            problems.append(f"{name}: {wrong} accepted messages not there exactly once")
    if {m["id"] for m in forward} != {m["id"] for m in back}:
        problems.append("afterSeq and before pages hold different messages")
    texts = [m for m in forward if m["kind"] != "system"]
    per_cmid = Counter(m.get("clientMessageId") for m in texts)
    if any(c > 1 for c in per_cmid.values()):
        problems.append(f"{sum(c - 1 for c in per_cmid.values())} duplicates of a clientMessageId")
    ours, answered = {s["cmid"] for s in sent}, {s["cmid"] for s in sent if s["message"]}
    if strangers := set(per_cmid) - ours:
        problems.append(f"{len(strangers)} messages nobody sent")
    if unanswered := set(per_cmid) & (ours - answered):
        problems.append(f"{len(unanswered)} committed, their sender never got an answer")
    wrong_seq = [m for m in forward if m["id"] in accepted and accepted[m["id"]]["seq"] != m["seq"]]
    if wrong_seq:
        problems.append(f"{len(wrong_seq)} messages whose history seq differs from the send's")
    unread = stack.ok("GET", "/me/unread", token=reader)["total"]
    if unread != len(texts):
        problems.append(f"reader's unread {unread}, expected {len(texts)}")
    return problems


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)] if ordered else float("nan")  # nearest rank


def run(stack: Stack, senders: int, messages: int, give_up: float) -> dict:
    users = stack.sign_in(senders + 1)
    reader, senders_ = users[0], users[1:]
    room = stack.ok("POST", "/rooms", {"kind": "group", "name": f"hot room {senders}",
                                       "memberIds": [u["id"] for u in senders_]},
                    token=reader["token"], expect=(201,))["room"]["id"]
    gate = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(senders * messages) as pool:
        futures = [pool.submit(send, stack, room, u["token"], f"s{i}-m{j}", gate, give_up)
                   for i, u in enumerate(senders_) for j in range(messages)]
        time.sleep(0.5)  # every thread waiting at the gate
        start = time.perf_counter()
        gate.set()
        sent = [f.result() for f in futures]
    ends = [s["latency"] for s in sent if s["latency"] is not None]
    wall = max(s["done"] for s in sent if s["done"]) - start if ends else float("nan")
    answers = sum((s["answers"] for s in sent), Counter())
    return {"stack": stack.label, "senders": senders, "messages": len(sent), "accepted": len(ends),
            "wall": wall, "rate": len(ends) / wall if ends else 0.0,
            "requests": [r for s in sent for r in s["requests"]], "e2e": ends,
            "attempts": [len(s["requests"]) for s in sent], "answers": answers,
            "errors": [f"{s['cmid']}: {s['error']}" for s in sent if s["error"]],
            "problems": history_problems(stack, room, reader["token"], sent), "load": os.getloadavg()[0]}


def print_table(results: list[dict]) -> None:
    ms = lambda xs: "/".join(f"{pct(xs, p) * 1000:.0f}" for p in (50, 95, 99))
    header = (f"{'stack':<10}{'send':>5}{'msgs':>6}{'ok':>6}{'wall s':>8}{'msg/s':>7}"
              f"{'request ms p50/95/99':>23}{'message ms p50/95/99':>23}{'att avg/max':>12}"
              f"{'429':>6}{'thr':>5}{'409':>6}{'t/o':>6}{'5xx':>5}{'200':>5}{'load':>6}  history")
    print(header)
    print("-" * len(header))
    for r in results:
        a = r["answers"]
        att = f"{sum(r['attempts']) / len(r['attempts']):.2f}/{max(r['attempts'])}"
        print(f"{r['stack']:<10}{r['senders']:>5}{r['messages']:>6}{r['accepted']:>6}{r['wall']:>8.2f}"
              f"{r['rate']:>7.1f}{ms(r['requests']):>23}{ms(r['e2e']):>23}{att:>12}"
              f"{a[429]:>6}{a['throttled']:>5}{a[409]:>6}{a['timeout']:>6}{a['5xx']:>5}{a[200]:>5}{r['load']:>6.1f}  "
              f"{'ok' if not r['problems'] else 'PROBLEMS'}")
    print("request: each HTTP try; message: first try to success; thr: the emulator's Lambda throttle "
          "(429 without rate_limited); t/o: timeouts and dropped connections; 200: a retry answered "
          "with the message already sent; load: 1-min load average at the end")
    for r in results:
        errors = [f"{len(r['errors'])} sends failed, e.g. {r['errors'][0]}"] if r["errors"] else []
        for line in errors + r["problems"]:
            print(f"{r['stack']} {r['senders']} senders: {line}")


def primitives(env_file: str, counts: list[int], ops: int) -> None:
    """The two ways to take a room's next number, raw against the stack's table (boto3, so run
    with .tools/ministack/bin/python): n threads each taking `ops` numbers on one fresh item,
    (a) an atomic counter (`ADD`, one call that always succeeds) and (b) what a send does: a
    transaction conditioned on the number read, whose failure hands back the item
    (ALL_OLD) for the retry. Prints numbers/s, attempts per number and latency per number."""
    import boto3  # only here: the send benchmark itself needs nothing but the standard library
    env = read_env(env_file)
    db = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    table = env["GIGWIRE_TABLE"]
    print(f"{'primitive':<12} {'n':>3} {'numbers/s':>10} {'attempts':>9} {'ms p50/p99':>14}")
    for n in counts:
        for kind in ("counter", "optimistic"):
            key = {"PK": {"S": f"BENCH#{uuid.uuid4().hex}"}, "SK": {"S": "ROOM"}}
            db.put_item(TableName=table, Item={**key, "seq": {"N": "0"}})
            gate, latencies, attempts = threading.Event(), [], []

            def take() -> None:
                gate.wait()
                for _ in range(ops):
                    start, tries = time.monotonic(), 0
                    if kind == "counter":
                        tries = 1
                        db.update_item(TableName=table, Key=key, UpdateExpression="ADD seq :one",
                                       ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
                    else:
                        seq = int(db.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["seq"]["N"])
                        while True:
                            tries += 1
                            try:
                                db.transact_write_items(TransactItems=[
                                    {"Update": {"TableName": table, "Key": key, "UpdateExpression": "SET seq = :next",
                                                "ConditionExpression": "seq = :seq",
                                                "ExpressionAttributeValues": {":seq": {"N": str(seq)}, ":next": {"N": str(seq + 1)}},
                                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                                    {"Put": {"TableName": table, "Item": {"PK": key["PK"], "SK": {"S": f"MSG#{seq + 1}"}},
                                             "ConditionExpression": "attribute_not_exists(PK)"}}])
                                break
                            except db.exceptions.TransactionCanceledException as e:
                                reason = e.response.get("CancellationReasons", [{}])[0]
                                seq = int(reason["Item"]["seq"]["N"]) if "Item" in reason else seq
                                time.sleep(random.uniform(0, 0.004 * min(tries, 5)))
                    latencies.append(time.monotonic() - start)
                    attempts.append(tries)

            threads = [threading.Thread(target=take) for _ in range(n)]
            for t in threads:
                t.start()
            began = time.monotonic()
            gate.set()
            for t in threads:
                t.join()
            wall = time.monotonic() - began
            ms = sorted(x * 1000 for x in latencies)
            print(f"{kind:<12} {n:>3} {len(ms) / wall:>10.1f} {sum(attempts) / len(attempts):>9.2f} "
                  f"{pct(ms, 50):>6.0f}/{pct(ms, 99):<6.0f}")
            db.delete_item(TableName=table, Key=key)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env-file", action="append", required=True, help="a deployed stack's env file (repeatable)")
    p.add_argument("--label", action="append", default=[], help="name of the stack, one per --env-file in order")
    p.add_argument("--senders", default="1,5,20,50", help="sender counts, comma separated (each at most 79)")
    p.add_argument("--messages", type=int, default=10, help="messages per sender")
    p.add_argument("--give-up", type=float, default=300, help="seconds after its first try a send is given up")
    p.add_argument("--primitives", type=int, default=0, metavar="OPS",
                   help="instead: time the two numbering primitives raw, OPS numbers per thread, on the "
                        "first stack's table (needs boto3: run with .tools/ministack/bin/python)")
    args = p.parse_args()
    if args.label and len(args.label) != len(args.env_file):
        p.error("give one --label per --env-file, or none")
    labels = args.label or [Path(f).stem for f in args.env_file]
    counts = [int(n) for n in args.senders.split(",")]
    if any(not 1 <= n <= 79 for n in counts):
        p.error("a room has at most 80 members: the reader and up to 79 senders")
    if args.primitives:
        primitives(args.env_file[0], counts, args.primitives)
        return
    stacks = [Stack(label, f) for label, f in zip(labels, args.env_file)]
    began = time.monotonic()
    for stack in stacks:  # warm the sign-in, room and send functions once, unmeasured
        run(stack, 1, 1, args.give_up)
    results = []
    for n in counts:
        for stack in stacks:
            print(f"{stack.label}: {n} senders x {args.messages} messages ...", file=sys.stderr, flush=True)
            results.append(run(stack, n, args.messages, args.give_up))
    print_table(results)
    print(f"total {time.monotonic() - began:.0f} s (setup and checks included)")


if __name__ == "__main__":
    main()
