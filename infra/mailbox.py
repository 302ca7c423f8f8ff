"""Prints the e-mails and text messages the local emulator captured instead of delivering them,
oldest first, so a person can read a sign-in code.

    python3 infra/mailbox.py [--to alice@example.com | --to +15555550100] [--port 4566]

Standard library only: it runs with any python3.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import time
import urllib.request


def fetch(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.load(r)


def text_of(mail: dict) -> str:
    if mail.get("BodyText"):
        return mail["BodyText"]
    # An HTML-only mail: strip tags so the code is still readable in a terminal.
    return html.unescape(re.sub(r"<[^>]+>", "", mail.get("BodyHtml") or "")).strip()


def main() -> None:
    p = argparse.ArgumentParser(description="Show mail and SMS captured by the local emulator.")
    p.add_argument("--to", help="only messages to this e-mail address or phone number")
    p.add_argument("--port", type=int, default=int(os.environ.get("GIGWIRE_EMULATOR_PORT", "4566")))
    args = p.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    want = (args.to or "").lower()

    try:
        mails = [m for msgs in fetch(base, "/_ministack/ses/messages")["messages"].values() for m in msgs]
        texts = fetch(base, "/_ministack/sns/sms-messages")["sms_messages"]
    except OSError as e:
        sys.exit(f"cannot reach the emulator at {base}: {e}")

    # Mail is stored per account; merge and order by send time.
    for m in sorted(mails, key=lambda m: m.get("Timestamp", 0)):
        rcpts = m.get("To", []) + m.get("CC", []) + m.get("BCC", [])
        if want and want not in (r.lower() for r in rcpts):
            continue
        sent = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m.get("Timestamp", 0)))
        print(f"{sent}  mail  {m.get('Source', '')} -> {', '.join(rcpts)}")
        print(f"  Subject: {m.get('Subject', '')}")
        for line in text_of(m).splitlines():
            print(f"  {line}")
        print()

    # SMS records carry no timestamp: they are listed per number, in the order sent.
    for number, msgs in texts.items():
        if want and want != number.lower():
            continue
        for s in msgs:
            print(f"sms   -> {number}")
            for line in (s.get("Message") or "").splitlines():
                print(f"  {line}")
            print()


if __name__ == "__main__":
    main()
