"""The deploy scripts of .github/workflows, run with the real AWS CLI against moto's server (an
emulator of the AWS APIs, not AWS): scripts/deploy-web (issue 9, Delivery) and
scripts/deploy-lambdas (issue 13, versions behind a `live` alias)."""

import io
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REGION = "ap-northeast-2"

boto3 = pytest.importorskip("boto3")


@pytest.fixture(scope="module")
def moto_url():
    """MOTO_URL from scripts/test, or a moto_server of our own on a free port."""
    if os.environ.get("MOTO_URL"):
        yield os.environ["MOTO_URL"]
        return
    if not shutil.which("moto_server"):
        pytest.fail("moto_server is not installed (requirements-dev.txt; scripts/test installs it)")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _aws_env(moto_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    if not shutil.which("aws"):
        pytest.fail("the AWS CLI is not installed (awscli in requirements-dev.txt)")
    # Every `aws` call is logged before it runs, to check the order of the steps.
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    log = tmp_path / "aws-calls.log"
    (shim / "aws").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {shutil.which("aws")} "$@"\n')
    (shim / "aws").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PATH=f"{shim}:{os.environ['PATH']}", AWS_ENDPOINT_URL=moto_url, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, **extra)
    return env


def _client(service: str, moto_url: str, region: str = REGION):
    return boto3.client(service, endpoint_url=moto_url, region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "aws-calls.log").read_text().splitlines()


# ---------------------------------------------------------------- scripts/deploy-web


def _distribution(cf, bucket: str) -> str:
    config = {
        "CallerReference": str(uuid.uuid4()), "Comment": "test", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "app", "DomainName": f"{bucket}.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "app", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
    }
    return cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def _build(dist: Path) -> None:
    files = {
        "index.html": "<!doctype html><script src=/assets/index-NEW1.js></script>",
        "assets/index-NEW1.js": "console.log('new')",
        "assets/index-NEW1.css": "body{}",
        "favicon.ico": "icon",
        "config.json": '{"api_base":"/api","auth":{"mode":"dev"}}',  # a dev one: must never be uploaded
    }
    for name, text in files.items():
        (dist / name).parent.mkdir(parents=True, exist_ok=True)
        (dist / name).write_text(text)


def test_deploy_web_sets_cache_headers_keeps_config_and_prunes_only_after_index_is_live(moto_url, tmp_path):
    s3, cf = _client("s3", moto_url), _client("cloudfront", moto_url)
    bucket = f"app-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    terraform_config = '{"api_base":"/api","auth":{"mode":"cognito"}}'
    s3.put_object(Bucket=bucket, Key="config.json", Body=terraform_config, CacheControl="no-cache")
    s3.put_object(Bucket=bucket, Key="assets/index-OLD0.js", Body="old")
    s3.put_object(Bucket=bucket, Key="index.html", Body="old index")
    distribution = _distribution(cf, bucket)
    dist = tmp_path / "dist"
    _build(dist)

    out = subprocess.run([str(ROOT / "scripts" / "deploy-web"), str(dist)], capture_output=True, text=True,
                         env=_aws_env(moto_url, tmp_path, APP_BUCKET=bucket, APP_DISTRIBUTION_ID=distribution),
                         timeout=300)
    assert out.returncode == 0, out.stderr

    def cache_control(key):
        return s3.head_object(Bucket=bucket, Key=key).get("CacheControl")

    assert cache_control("assets/index-NEW1.js") == "public, max-age=31536000, immutable"
    assert cache_control("assets/index-NEW1.css") == "public, max-age=31536000, immutable"
    assert cache_control("index.html") == "no-cache"
    assert s3.head_object(Bucket=bucket, Key="index.html")["ContentType"].startswith("text/html")
    assert cache_control("favicon.ico") == "public, max-age=300"
    assert s3.get_object(Bucket=bucket, Key="config.json")["Body"].read().decode() == terraform_config
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"index.html", "assets/index-NEW1.js", "assets/index-NEW1.css", "favicon.ico", "config.json"}
    invalidations = cf.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    (inv,) = invalidations
    paths = cf.get_invalidation(DistributionId=distribution, Id=inv["Id"])["Invalidation"]["InvalidationBatch"]["Paths"]
    assert paths["Items"] == ["/index.html"]

    calls = _calls(tmp_path)
    def first(prefix):
        return next(i for i, c in enumerate(calls) if c.startswith(prefix))
    assert first("s3 sync " + str(dist / "assets")) < first("s3 cp " + str(dist / "index.html"))
    assert first("s3 cp " + str(dist / "index.html")) < first("cloudfront create-invalidation")
    assert first("cloudfront create-invalidation") < first("cloudfront get-invalidation") < first("s3 rm ")
    assert not any("config.json" in c and c.startswith(("s3 cp", "s3 rm")) for c in calls)


def test_deploy_web_refuses_a_directory_without_a_build(moto_url, tmp_path):
    out = subprocess.run([str(ROOT / "scripts" / "deploy-web"), str(tmp_path)], capture_output=True, text=True,
                         env=_aws_env(moto_url, tmp_path, APP_BUCKET="b", APP_DISTRIBUTION_ID="d"), timeout=60)
    assert out.returncode == 1
    assert "index.html missing: build first (npm run build)" in out.stderr
    assert not (tmp_path / "aws-calls.log").exists()


# ---------------------------------------------------------------- scripts/deploy-lambdas

FUNCTIONS = [("api-lists", "vocab-lists", REGION), ("api-words", "vocab-words", REGION), ("api-quiz", "vocab-quiz", REGION),
             ("api-me", "vocab-me", REGION), ("log-shipper", "shipper", REGION), ("log-shipper", "shipper", "us-east-1")]


def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", text)
    return buf.getvalue()


def _zips(root: Path, build: str) -> Path:
    for _, binary, _ in FUNCTIONS:
        (root / binary).mkdir(parents=True, exist_ok=True)
        (root / binary / "bootstrap.zip").write_bytes(_zip(f"{binary} {build}"))
    return root


def _create_functions(moto_url) -> str:
    """The environment's functions as Terraform leaves them: `live` at $LATEST (the stub)."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    iam = _client("iam", moto_url)
    role = iam.create_role(RoleName=f"{prefix}-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    for suffix, _, region in FUNCTIONS:
        lam = _client("lambda", moto_url, region)
        lam.create_function(FunctionName=f"{prefix}-{suffix}", Runtime="provided.al2023", Role=role, Handler="bootstrap",
                            Code={"ZipFile": _zip("stub")}, Architectures=["arm64"])
        lam.create_alias(FunctionName=f"{prefix}-{suffix}", Name="live", FunctionVersion="$LATEST")
    return prefix


def _live(moto_url, prefix, suffix, region=REGION) -> str:
    return _client("lambda", moto_url, region).get_alias(FunctionName=f"{prefix}-{suffix}", Name="live")["FunctionVersion"]


def _deploy(moto_url, tmp_path, prefix, *args):
    return subprocess.run([str(ROOT / "scripts" / "deploy-lambdas"), *args], capture_output=True, text=True,
                          env=_aws_env(moto_url, tmp_path, NAME_PREFIX=prefix), timeout=600)


@pytest.fixture(scope="module")
def deployed(moto_url, tmp_path_factory):
    """Two deploys of every function (the AWS CLI is slow to start: the tests share them)."""
    tmp = tmp_path_factory.mktemp("deploys")
    prefix = _create_functions(moto_url)
    runs, live = [], []
    for build in ("one", "two"):
        out = _deploy(moto_url, tmp, prefix, "deploy", str(_zips(tmp / build, build)))
        assert out.returncode == 0, out.stderr
        runs.append(out.stdout)
        live.append({(s, r): _live(moto_url, prefix, s, r) for s, _, r in FUNCTIONS})
    return prefix, runs, live


def test_a_deploy_publishes_a_version_of_each_function_and_moves_live_to_it(moto_url, deployed):
    prefix, (first, second), (live1, live2) = deployed
    assert set(live1.values()) == {"1"} and set(live2.values()) == {"2"}
    assert f"{prefix}-api-quiz ({REGION}): live $LATEST -> 1" in first
    # Each line says how to undo it.
    assert f"{prefix}-log-shipper (us-east-1): live 1 -> 2   (undo: scripts/deploy-lambdas rollback log-shipper@us-east-1 1)" in second
    assert "(undo: scripts/deploy-lambdas rollback api-me 1)" in second
    # A published version holds the code deployed with it, frozen.
    lam = _client("lambda", moto_url)
    v1 = lam.get_function(FunctionName=f"{prefix}-api-me", Qualifier="1")["Configuration"]["CodeSha256"]
    v2 = lam.get_function(FunctionName=f"{prefix}-api-me", Qualifier="2")["Configuration"]["CodeSha256"]
    assert v1 != v2


def test_a_rollback_moves_live_back_and_nothing_else(moto_url, tmp_path, deployed):
    prefix = deployed[0]
    out = _deploy(moto_url, tmp_path, prefix, "rollback", "api-quiz", "1")
    assert out.returncode == 0, out.stderr
    assert _live(moto_url, prefix, "api-quiz") == "1"
    assert _live(moto_url, prefix, "api-words") == "2"
    assert f"{prefix}-api-quiz ({REGION}): live 2 -> 1 (rolled back)" in out.stdout
    east = _deploy(moto_url, tmp_path, prefix, "rollback", "log-shipper@us-east-1", "1")
    assert east.returncode == 0, east.stderr
    assert _live(moto_url, prefix, "log-shipper", "us-east-1") == "1"
    assert _live(moto_url, prefix, "log-shipper") == "2"
    # A version that doesn't exist changes nothing.
    missing = _deploy(moto_url, tmp_path, prefix, "rollback", "api-me", "7")
    assert missing.returncode != 0
    assert _live(moto_url, prefix, "api-me") == "2"


@pytest.mark.parametrize("args,message", [
    (["rollback", "api-nope", "1"], "no function api-nope"),
    (["rollback", "api-me", "latest"], "VERSION must be a published version number"),
    (["deploy"], "usage: scripts/deploy-lambdas deploy ZIP_DIR"),
])
def test_bad_arguments_are_refused_before_any_aws_call(moto_url, tmp_path, args, message):
    out = _deploy(moto_url, tmp_path, "t-none", *args)
    assert out.returncode != 0
    assert message in out.stderr
    assert not (tmp_path / "aws-calls.log").exists()


def test_a_deploy_with_a_missing_zip_changes_nothing_and_names_it(moto_url, tmp_path):
    zips = _zips(tmp_path / "b", "one")
    (zips / "vocab-me" / "bootstrap.zip").unlink()
    out = _deploy(moto_url, tmp_path, "t-none", "deploy", str(zips))
    assert out.returncode == 1
    assert f"{zips}/vocab-me/bootstrap.zip missing (scripts/build-lambdas builds it)" in out.stderr
    assert not (tmp_path / "aws-calls.log").exists()
