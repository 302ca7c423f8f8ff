"""Prints the functions' recent log lines from the local emulator (CloudWatch Logs API).

Usage: .tools/ministack/bin/python infra/logs.py [--port 4566] [--filter TEXT] [--minutes 10]
"""

import argparse
import time

import boto3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--filter", default="", help="only lines containing this text")
    parser.add_argument("--minutes", type=int, default=10)
    args = parser.parse_args()
    logs = boto3.client("logs", endpoint_url=f"http://127.0.0.1:{args.port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")
    since = int((time.time() - args.minutes * 60) * 1000)
    for group in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/lambda/"):
        for g in group["logGroups"]:
            name = g["logGroupName"]
            events = logs.filter_log_events(logGroupName=name, startTime=since).get("events", [])
            for event in events:
                if args.filter in event["message"]:
                    print(f"{name.rsplit('/', 1)[-1]}: {event['message'].rstrip()}")


if __name__ == "__main__":
    main()
