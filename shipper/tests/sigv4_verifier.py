#!/usr/bin/env python3
"""A reverse proxy that checks AWS Signature Version 4 the way Amazon OpenSearch Service (`es`)
and OpenSearch Serverless (`aoss`) do, then forwards what passes to an OpenSearch-API server.

It is the shipper's test double for the AWS side of a signed request: the signature is
recomputed here with botocore's SigV4 code (an implementation independent of the shipper's
aws-sigv4), from the request exactly as it arrived, so a wrong canonical request, a header
changed or left unsigned, a body that doesn't match its hash, a wrong scope, an unknown key or
token, or a clock off by more than five minutes is refused with the status and message AWS
answers. What passes is forwarded unsigned to --upstream (osmem-server in the tests) and the
answer relayed.

The AWS documents each check follows:
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
  (canonical request, signed headers, credential scope, signature)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html
  (the errors: signature mismatch, scope, expired signature)
- https://docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-clients.html
  (Serverless: `x-amz-content-sha256` is required)

Usage (prints `listening on http://127.0.0.1:PORT` once it accepts connections):
  sigv4_verifier.py --upstream http://127.0.0.1:9200 --service es --region ap-northeast-2 \
      --key AKID:SECRET[:SESSION_TOKEN] [--port 0]
`GET /__verifier/stats` (unsigned) answers {"verified": n, "refused": [{"status", "message"}]}.
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# AWS allows a request's timestamp to differ from its own clock by at most 5 minutes
# ("Signature expired: … is now earlier than … (… - 5 min.)").
MAX_SKEW = datetime.timedelta(minutes=5)
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)
# Headers that never reach the upstream: the signature's own, and hop-by-hop ones.
DROP_UPSTREAM = {"authorization", "host", "connection", "keep-alive", "transfer-encoding"}


class Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class State:
    def __init__(self, args):
        self.upstream = urllib.parse.urlsplit(args.upstream)
        self.service = args.service
        self.region = args.region
        self.keys = {}
        for k in args.key:
            parts = k.split(":", 2)
            self.keys[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else None)
        self.lock = threading.Lock()
        self.verified = 0
        self.refused = []


def amz_time(s):
    return datetime.datetime.strptime(s, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)


def verify(state, method, raw_path, headers, body):
    """Raises Refused as AWS would; returns nothing when the signature holds."""
    h = {k.lower(): v for k, v in headers.items()}
    auth = h.get("authorization")
    if auth is None:
        # An IAM-protected domain answers an unsigned request like an anonymous principal.
        raise Refused(403, f"User: anonymous is not authorized to perform: {state.service}:ESHttp{method.capitalize()}")
    m = AUTH_RE.match(auth.strip())
    if not m:
        raise Refused(403, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
    cred = m.group("cred").split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        raise Refused(403, "Credential should be scoped with a valid terminator: 'aws4_request'.")
    akid, date, region, service, _ = cred
    if "x-amz-date" not in h:
        raise Refused(403, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    try:
        when = amz_time(h["x-amz-date"])
    except ValueError:
        raise Refused(403, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    now = datetime.datetime.now(datetime.timezone.utc)
    if when < now - MAX_SKEW:
        raise Refused(403, f"Signature expired: {h['x-amz-date']} is now earlier than {(now - MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - 5 min.)")
    if when > now + MAX_SKEW:
        raise Refused(403, f"Signature not yet current: {h['x-amz-date']} is still later than {(now + MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} + 5 min.)")
    if date != h["x-amz-date"][:8]:
        raise Refused(403, f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{h['x-amz-date'][:8]}', from '{h['x-amz-date']}'.")
    if region != state.region:
        raise Refused(403, f"Credential should be scoped to a valid region. ")
    if service != state.service:
        raise Refused(403, f"Credential should be scoped to correct service: '{state.service}'. ")
    if akid not in state.keys:
        raise Refused(403, "The security token included in the request is invalid.")
    secret, token = state.keys[akid]
    signed = m.group("signed").split(";")
    if signed != sorted(signed) or "host" not in signed:
        raise Refused(403, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
    # Every x-amz-* header (the token, the payload hash) and the content type must be signed.
    unsigned = [k for k in h if (k.startswith("x-amz-") or k == "content-type") and k not in signed]
    if unsigned:
        raise Refused(403, f"There were headers present in the request which were not signed: {', '.join(sorted(unsigned))}")
    if token is not None and h.get("x-amz-security-token") != token:
        raise Refused(403, "The security token included in the request is invalid.")
    payload_hash = h.get("x-amz-content-sha256")
    if payload_hash is None and state.service == "aoss":
        raise Refused(403, "x-amz-content-sha256 header is required for Amazon OpenSearch Serverless requests.")
    if payload_hash is not None and payload_hash != hashlib.sha256(body).hexdigest():
        raise Refused(400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
    missing = [k for k in signed if k not in h]
    if missing:
        raise Refused(403, f"The request signature we calculated does not match the signature you provided. (signed header {missing[0]} is missing)")

    # Recompute with botocore, over only the headers the client says it signed, with their
    # values as received. The query is decoded and encoded again the canonical way, as the
    # service does; the path is taken as sent.
    path, _, query = raw_path.partition("?")
    params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    req = AWSRequest(
        method=method,
        url=f"http://{h['host']}{path}",
        headers={k: h[k] for k in signed},
        data=body,
        params=params,
    )
    req.context["timestamp"] = h["x-amz-date"]
    signer = SigV4Auth(Credentials(akid, secret, token), state.service, state.region)
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(expected, m.group("sig")):
        sys.stderr.write(f"sigv4_verifier: signature mismatch; canonical request was:\n{canonical}\n")
        raise Refused(403, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def answer(self, status, body, content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            if self.path == "/__verifier/stats":
                with state.lock:
                    out = {"verified": state.verified, "refused": state.refused}
                return self.answer(200, json.dumps(out).encode())
            try:
                verify(state, self.command, self.path, dict(self.headers.items()), body)
            except Refused as r:
                with state.lock:
                    state.refused.append({"status": r.status, "message": r.message})
                return self.answer(r.status, json.dumps({"message": r.message}).encode())
            with state.lock:
                state.verified += 1
            conn = http.client.HTTPConnection(state.upstream.hostname, state.upstream.port, timeout=60)
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in DROP_UPSTREAM and not k.lower().startswith("x-amz-")
            }
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            self.answer(resp.status, data, resp.getheader("Content-Type", "application/json"))

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True)
    p.add_argument("--service", required=True, choices=["es", "aoss"])
    p.add_argument("--region", required=True)
    p.add_argument("--key", action="append", required=True, help="AKID:SECRET[:SESSION_TOKEN]")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(State(args)))
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
