"""Deploys template.yaml to the local emulator with host-built function binaries.

    .tools/ministack/bin/python infra/deploy_local.py --binaries target/debug --out .tools/local.env

The template is the production one: only each function's CodeUri is pointed at a zip uploaded
to the emulator's S3, and the emulator applies the SAM transform itself, so no SAM CLI build is
involved. Zips are named by the binary's hash, so a redeploy uploads and updates only the
functions whose binary changed. Afterwards the script patches what the emulator does not do from
the template (TTL, SES sender verification) and writes a shell-sourceable env file for tests.

The access-token signing key is made as on AWS: `gigwire-keys create` (built with the
functions) stores it as an SSM SecureString in the emulator, and its public half becomes the
JwtPublicKeys parameter. With --rotating the stack is deployed as in the middle of a key
rotation: the authorizers also accept a second, "next" key (the tests sign with both). Stripe's
secrets (--stripe-key, --stripe-webhook-secret) are stored as SecureStrings in the emulator's
SSM too, and the stack is given their names, as on AWS.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import json
import urllib.request
import os
import platform
import re
import secrets
import shlex
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
CODE_URI = re.compile(r"^(?P<indent>[ \t]+)CodeUri:[ \t]*target/lambda/(?P<name>[A-Za-z0-9_-]+)/?[ \t]*$", re.M)
REGION = "us-east-1"
SECRET_KEY = "test"


def point_stripe_webhooks(env: dict) -> None:
    """When the stack talks to the local Stripe-compatible test server, has that server deliver
    its webhooks to the stack's endpoint, signed with the stack's secret (the URL exists only
    now that the API is deployed)."""
    base = env["GIGWIRE_STRIPE_URL"]
    if not base.startswith("http://127.0.0.1") and not base.startswith("http://localhost"):
        return
    body = json.dumps({"url": f"{env['GIGWIRE_HTTP_URL']}/webhooks/stripe",
                       "secret": env["GIGWIRE_STRIPE_WEBHOOK_SECRET"],
                       "max_attempts": 5, "retry_base": 0.5}).encode()
    request = urllib.request.Request(f"{base}/_test/webhooks", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).read()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=int(os.environ.get("GIGWIRE_EMULATOR_PORT", "4566")))
    p.add_argument("--binaries", type=Path, default=ROOT / "target" / "debug",
                   help="directory with one executable per function name (a cargo output dir)")
    p.add_argument("--stack-name", default="gigwire-local")
    p.add_argument("--stage", default="dev")
    p.add_argument("--access-key", default="test",
                   help="emulator credentials; a 12-digit key is its own account (isolation)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="extra template parameter (repeatable), e.g. OtpRequestsPerIp=1000")
    p.add_argument("--out", type=Path, help="env file to write (default .tools/emulator-PORT/STACK.env)")
    p.add_argument("--stripe-key", default="", help="Stripe secret key (stored in the emulator's SSM)")
    p.add_argument("--stripe-webhook-secret", default="",
                   help="the webhook's signing secret (stored in the emulator's SSM)")
    p.add_argument("--rotating", action="store_true",
                   help="authorizers also accept a second signing key, as during a key rotation")
    return p.parse_args()


def host_architecture() -> str:
    # The emulator runs bootstraps as native processes, whatever the template declares.
    return {"aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "x86_64")


def app_secret() -> str:
    key = os.environ.get("GIGWIRE_APP_SECRET")
    if key:
        return key
    # Generated once and reused, so cursors and refresh tokens stay valid across redeploys.
    path = ROOT / ".tools" / "app-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def signing_key(binaries: Path, url: str, access_key: str, parameter: str, kid: str) -> str:
    """Creates the key in the emulator's SSM unless it is there; returns its public entry."""
    tool = binaries / "gigwire-keys"
    if not os.access(tool, os.X_OK):
        sys.exit(f"no gigwire-keys in {binaries}: build the workspace (cargo build --workspace --bins)")
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_REGION": REGION,
           "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    done = subprocess.run([str(tool), "create", "--parameter", parameter, "--kid", kid, "--if-missing"],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"gigwire-keys failed: {done.stderr.strip()}")
    return done.stdout.strip()


def stored_key(ssm, parameter: str) -> str:
    return ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def bootstrap_zip(binary: Path) -> bytes:
    buf = io.BytesIO()
    # Fixed timestamp and mode: the same binary always gives the same zip.
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 << 16)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w") as z, binary.open("rb") as f:
        # Level 1: debug binaries are large and the upload is local, so speed beats size.
        z.writestr(info, f.read(), compresslevel=1)
    return buf.getvalue()


def upload_code(s3, bucket: str, prefix: str, names: list[str], binaries: Path) -> dict[str, str]:
    """Uploads each function's zip unless an identical one is there; returns name -> S3 key."""
    missing = [n for n in names if not (binaries / n).is_file() or not os.access(binaries / n, os.X_OK)]
    if missing:
        sys.exit(f"no executable for {', '.join(missing)} in {binaries}")

    def one(name: str) -> tuple[str, str]:
        binary = binaries / name
        key = f"{prefix}{name}/{sha256(binary)}.zip"
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError:
            s3.put_object(Bucket=bucket, Key=key, Body=bootstrap_zip(binary))
        return name, key

    # zlib and hashlib release the GIL, so two threads use both cores.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, names))


def prune_code(s3, bucket: str, prefix: str, keep: set[str]) -> None:
    # Functions hold their own copy of the code, and the emulator keeps every object in memory:
    # drop the zips of earlier builds so long sessions do not grow it by a build per deploy.
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    stale = [o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"] not in keep]
    for i in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[i:i + 1000]]})


def stack_status(cfn, name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise


def wait(cfn, name: str, timeout: float = 300) -> dict | None:
    # The boto3 waiters poll every 5-30 s; the emulator finishes in well under a second.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack = stack_status(cfn, name)
        if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        time.sleep(0.05)
    sys.exit(f"stack {name} still in progress after {timeout} s")


def failure_reasons(cfn, name: str) -> str:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return "\n".join(f"  {e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
                     for e in events if e["ResourceStatus"].endswith("FAILED"))[:4000]


def deploy(cfn, name: str, template_url: str, params: list[dict]) -> dict:
    args = dict(StackName=name, TemplateURL=template_url, Parameters=params,
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    stack = stack_status(cfn, name)
    if stack and stack["StackStatus"].endswith("_IN_PROGRESS"):
        stack = wait(cfn, name)
    if stack and (stack["StackStatus"].endswith("FAILED") or stack["StackStatus"] == "ROLLBACK_COMPLETE"):
        # A stack whose creation (or rollback) failed cannot be updated: start over.
        cfn.delete_stack(StackName=name)
        stack = wait(cfn, name)
    if stack is None:
        cfn.create_stack(**args)
    else:
        try:
            cfn.update_stack(**args)
        except ClientError as e:
            if "No updates are to be performed" in str(e):
                return stack
            raise
    stack = wait(cfn, name)
    if stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        return stack
    reasons = failure_reasons(cfn, name)
    if stack["StackStatus"].startswith("UPDATE_ROLLBACK"):
        # Some changes cannot be applied in place locally (e.g. a renamed stage): recreate.
        print(f"update of {name} failed, recreating the stack:\n{reasons}", file=sys.stderr)
        cfn.delete_stack(StackName=name)
        wait(cfn, name)
        cfn.create_stack(**args)
        stack = wait(cfn, name)
        if stack["StackStatus"] == "CREATE_COMPLETE":
            return stack
        reasons = failure_reasons(cfn, name)
    sys.exit(f"deploying {name} ended in {stack['StackStatus']}:\n{reasons}")


def enable_ttl(ddb, table: str) -> None:
    # The emulator drops the table's TimeToLiveSpecification: apply it by hand.
    desc = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if desc.get("TimeToLiveStatus") != "ENABLED":
        ddb.update_time_to_live(TableName=table,
                                TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True})


def repair_cors(apigw, api_id: str) -> None:
    # The emulator stores a template's CorsConfiguration with its CloudFormation (PascalCase)
    # keys but reads the API's camelCase ones, so every preflight is denied. Sending the same
    # configuration through UpdateApi stores it the way the data plane reads it.
    raw: dict = {}
    grab = lambda http_response, **_: raw.update(json.loads(http_response.content))  # noqa: E731
    apigw.meta.events.register("after-call.apigatewayv2.GetApi", grab)
    apigw.get_api(ApiId=api_id)
    cors = raw.get("corsConfiguration") or {}
    if cors and all(k[:1].isupper() for k in cors):
        apigw.update_api(ApiId=api_id, CorsConfiguration=cors)


def verify_sender(sesv2, address: str) -> None:
    # Like SES, the emulator rejects mail from an unverified sender; creating the identity
    # there verifies it at once.
    try:
        sesv2.get_email_identity(EmailIdentity=address)
    except ClientError:
        sesv2.create_email_identity(EmailIdentity=address)


def push_application(sns) -> str:
    """The emulator's stand-in for an FCM platform application: CloudFormation cannot create
    one (on AWS it is made once with the real FCM key and its ARN passed as a parameter)."""
    return sns.create_platform_application(
        Name="gigwire-local-fcm", Platform="GCM",
        Attributes={"PlatformCredential": "local-emulator-fcm-key"})["PlatformApplicationArn"]


def main() -> None:
    args = parse_args()
    url = f"http://127.0.0.1:{args.port}"
    session = boto3.Session(aws_access_key_id=args.access_key, aws_secret_access_key=SECRET_KEY,
                            region_name=REGION)
    cfg = Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"})
    client = lambda svc: session.client(svc, endpoint_url=url, config=cfg)  # noqa: E731
    s3, cfn = client("s3"), client("cloudformation")

    template = (ROOT / "template.yaml").read_text()
    # Functions of one feature share its binary: upload each binary once.
    names = sorted({m["name"] for m in CODE_URI.finditer(template)})
    if not names:
        sys.exit("template.yaml has no CodeUri under target/lambda/")

    account = client("sts").get_caller_identity()["Account"]
    bucket = f"gigwire-artifacts-{account}"
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)
    prefix = f"{args.stack_name}/"
    keys = upload_code(s3, bucket, prefix, names, args.binaries.resolve())
    template = CODE_URI.sub(lambda m: f"{m['indent']}CodeUri: s3://{bucket}/{keys[m['name']]}", template)

    # One parameter per key, named by the stack and the key id, as on AWS.
    key_prefix = f"/gigwire/{args.stack_name}/jwt-signing-key"
    current = f"{key_prefix}/local-1"
    public_keys = [signing_key(args.binaries, url, args.access_key, current, "local-1")]
    nxt = f"{key_prefix}/local-2"
    if args.rotating:
        public_keys.append(signing_key(args.binaries, url, args.access_key, nxt, "local-2"))
    ssm = client("ssm")
    stripe_parameters = {"StripeSecretKeyParameter": (f"/gigwire/{args.stack_name}/stripe/secret-key", args.stripe_key),
                         "StripeWebhookSecretParameter": (f"/gigwire/{args.stack_name}/stripe/webhook-secret",
                                                          args.stripe_webhook_secret)}
    for name, value in stripe_parameters.values():
        if value:
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    params = [
        {"ParameterKey": "Stage", "ParameterValue": args.stage},
        {"ParameterKey": "Architecture", "ParameterValue": host_architecture()},
        {"ParameterKey": "AppSecret", "ParameterValue": app_secret()},
        {"ParameterKey": "SigningKeyParameter", "ParameterValue": current},
        {"ParameterKey": "JwtPublicKeys", "ParameterValue": ",".join(public_keys)},
        {"ParameterKey": "ManagementApiBaseUrl", "ParameterValue": url},
        # Email buttons lead to a web app on the developer's machine.
        {"ParameterKey": "AppUrl", "ParameterValue": "http://localhost:3000"},
    ] + [{"ParameterKey": k, "ParameterValue": name} for k, (name, _) in stripe_parameters.items()] + [{"ParameterKey": k, "ParameterValue": v} for k, v in (p.split("=", 1) for p in args.param)]
    params = list({p["ParameterKey"]: p for p in params}.values())
    if not any(p["ParameterKey"] == "PushPlatformApplicationArn" for p in params):
        params.append({"ParameterKey": "PushPlatformApplicationArn",
                       "ParameterValue": push_application(client("sns"))})
    # Like `sam deploy`, the template travels through the bucket: CloudFormation takes at most
    # 51,200 bytes inline, and ours is larger.
    template_key = f"templates/{args.stack_name}.yaml"
    s3.put_object(Bucket=bucket, Key=template_key, Body=template.encode())
    stack = deploy(cfn, args.stack_name, f"{url}/{bucket}/{template_key}", params)
    prune_code(s3, bucket, prefix, set(keys.values()))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    values = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}

    enable_ttl(client("dynamodb"), outputs["TableName"])
    repair_cors(client("apigatewayv2"), outputs["HttpApiId"])
    verify_sender(client("sesv2"), values.get("EmailFrom") or "no-reply@gigwire.example")

    given = {p["ParameterKey"]: p["ParameterValue"] for p in params}
    env = {
        "GIGWIRE_HTTP_URL": f"{url}/_aws/execute-api/{outputs['HttpApiId']}",
        "GIGWIRE_WS_URL": f"ws://127.0.0.1:{args.port}/_aws/execute-api/{outputs['WebSocketApiId']}/{args.stage}",
        "GIGWIRE_STACK": args.stack_name,
        "GIGWIRE_TABLE": outputs["TableName"],
        "GIGWIRE_BUCKET": outputs["BucketName"],
        "GIGWIRE_CLEANUP_FUNCTION": outputs["CleanupUploadsFunctionName"],
        "GIGWIRE_PUSH_APPLICATION_ARN": values.get("PushPlatformApplicationArn") or "",
        "GIGWIRE_ESCALATIONS_FUNCTION": outputs["EscalationsFunctionName"],
        "GIGWIRE_BOOKING_TIMERS_FUNCTION": outputs["BookingTimersFunctionName"],
        "GIGWIRE_REVIEW_WINDOWS_FUNCTION": outputs["ReviewWindowsFunctionName"],
        "GIGWIRE_STRIPE_URL": given.get("StripeApiBase", ""),
        "GIGWIRE_STRIPE_SECRET_KEY": args.stripe_key,
        "GIGWIRE_STRIPE_WEBHOOK_SECRET": args.stripe_webhook_secret,
        "GIGWIRE_APP_SECRET": app_secret(),
        # The tests sign tokens themselves (expired ones, rotation): they get the stored keys.
        "GIGWIRE_JWT_SIGNING_KEY": stored_key(ssm, current),
        "GIGWIRE_JWT_NEXT_SIGNING_KEY": stored_key(ssm, nxt) if args.rotating else "",
        "GIGWIRE_JWT_ISSUER": values.get("JwtIssuer") or "gigwire",
        "GIGWIRE_JWT_AUDIENCE": values.get("JwtAudience") or "gigwire-api",
        "AWS_ENDPOINT_URL": url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,  # what Python and CLI tools read
        "AWS_ACCESS_KEY_ID": args.access_key,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    point_stripe_webhooks(env)
    out = args.out or ROOT / ".tools" / f"emulator-{args.port}" / f"{args.stack_name}.env"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
    out.chmod(0o600)
    print(f"HTTP API:      {env['GIGWIRE_HTTP_URL']}")
    print(f"WebSocket API: {env['GIGWIRE_WS_URL']}")
    print(f"env file:      {out}")


if __name__ == "__main__":
    try:
        main()
    except ClientError as e:
        sys.exit(f"deploy failed: {e}")
