"""The GitHub workflows deploy what infra/ defines, build what the crates define, and run the
checks the README promises."""

import re
import tomllib

import pytest
import yaml

from infra_hcl import INFRA, REPO, Module, attr, default_of

WORKFLOWS = REPO / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def run_lines(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uses(job: dict) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def terraform_functions() -> dict[str, str]:
    """Function name => binary, as infra/ defines them."""
    api = Module.load(INFRA / "modules" / "vocab_api")
    fn = api.resource("aws_lambda_function")["api"]
    pattern = attr(fn, "function_name")
    assert pattern == "vocab-api-${each.key}" and attr(fn, "for_each") == "${local.functions}"
    names = {f"vocab-api-{area}": f["binary"] for area, f in api.locals["functions"].items()}
    shipper = Module.load(INFRA / "modules" / "shipper")
    prod = Module.load(INFRA / "envs" / "prod")
    passed = prod.modules["shipper"].get("function_name")
    shipper_name = passed[0] if passed else default_of(shipper, attr(shipper.resource("aws_lambda_function")["shipper"], "function_name"))
    names[shipper_name] = "shipper"
    return names


def test_deploy_matrix_is_exactly_the_terraform_functions_and_their_binaries():
    matrix = load("deploy-backend.yml")["jobs"]["deploy"]["strategy"]["matrix"]["include"]
    deployed = {entry["function"]: entry["binary"] for entry in matrix}
    assert deployed == terraform_functions()
    assert deployed["cloudwatch-es-shipper"] == "shipper"


@pytest.mark.parametrize("crate,binaries", [
    ("vocab-api", ["vocab-lists", "vocab-words", "vocab-quiz", "vocab-me"]),
    ("shipper", ["shipper"]),
])
def test_deployed_binaries_are_bins_of_the_crates_the_workflow_builds(crate, binaries):
    manifest = tomllib.loads((REPO / crate / "Cargo.toml").read_text())
    bins = {b["name"] for b in manifest.get("bin", [])}
    bins |= {p.stem for p in (REPO / crate / "src" / "bin").glob("*.rs")}
    assert set(binaries) <= bins
    build = run_lines(load("deploy-backend.yml")["jobs"]["build"])
    assert re.search(rf"cargo lambda build --release --arm64 -p {crate} --output-format zip", build)


def test_deploy_builds_arm64_zips_and_uses_oidc_not_keys():
    workflow = load("deploy-backend.yml")
    paths = triggers(workflow)["push"]["paths"]
    assert {"shipper/**", "vocab-api/**", "log-schema/**"} <= set(paths)
    build = workflow["jobs"]["build"]
    assert "pip install cargo-lambda ziglang" in run_lines(build)
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"]["id-token"] == "write"
    creds = [s for s in deploy["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert creds and "role-to-assume" in creds[0]["with"]
    assert not any(k in str(creds[0]["with"]) for k in ("aws-access-key-id", "aws-secret-access-key"))
    update = run_lines(deploy)
    assert "aws lambda update-function-code" in update
    assert "--architectures arm64" in update
    update_step = [s for s in deploy["steps"] if "update-function-code" in s.get("run", "")][0]
    assert update_step["env"]["ZIP"] == "target/lambda/${{ matrix.binary }}/bootstrap.zip"


def test_deploy_role_can_only_update_the_deployed_functions():
    prod = Module.load(INFRA / "envs" / "prod")
    doc = prod.data["aws_iam_policy_document"]["deploy"]["statement"][0]
    assert attr(doc, "resources") == "${local.deployed_function_arns}"
    assert "module.vocab_api.function_arns" in prod.locals["deployed_function_arns"]
    assert "module.shipper.function_arn" in prod.locals["deployed_function_arns"]
    trust = prod.data["aws_iam_policy_document"]["deploy_trust"]["statement"][0]
    subjects = [attr(c, "values") for c in trust["condition"] if attr(c, "variable") == "token.actions.githubusercontent.com:sub"]
    assert subjects == [["repo:${var.github_repository}:ref:refs/heads/main"]]
    # The deploy job must therefore not run in a GitHub environment (that changes the token's sub).
    assert "environment" not in load("deploy-backend.yml")["jobs"]["deploy"]


def test_terraform_workflow_plans_on_pull_requests_and_applies_main_on_hcp_terraform():
    workflow = load("terraform.yml")
    on = triggers(workflow)
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    job = workflow["jobs"]["terraform"]
    workdir = job["defaults"]["run"]["working-directory"]
    assert (REPO / workdir / "versions.tf").is_file()
    assert set(job["env"]) >= {"TF_CLOUD_ORGANIZATION", "TF_WORKSPACE"}
    setup = [s for s in job["steps"] if s.get("uses", "").startswith("hashicorp/setup-terraform@")][0]
    assert "cli_config_credentials_token" in setup["with"]
    steps = {s.get("name", s.get("run")): s for s in job["steps"]}
    assert steps["Plan"]["if"] == "github.event_name == 'pull_request'"
    assert "terraform plan" in steps["Plan"]["run"]
    assert "refs/heads/main" in steps["Apply"]["if"]
    assert "terraform apply -auto-approve" in steps["Apply"]["run"]


def test_ci_runs_fmt_clippy_the_test_command_elasticsearch_and_dashboards():
    jobs = load("ci.yml")["jobs"]
    test = run_lines(jobs["test"])
    assert "cargo fmt --all -- --check" in test
    assert "-- -D warnings" in test and "cargo clippy" in test
    assert "pip install -r requirements-dev.txt" in test
    assert re.search(r"^scripts/test$", test, re.M)
    es = jobs["elasticsearch"]
    image = es["services"]["elasticsearch"]["image"]
    assert re.fullmatch(r"docker\.elastic\.co/elasticsearch/elasticsearch:9\.5\.\d+", image)
    assert es["env"]["ELASTICSEARCH_URL"] == "http://localhost:9200"
    # All shipper tests: the integration binary and setup.rs's real-cluster test; the
    # emulator tests there need the Python tools installed in the same job.
    assert re.search(r"^cargo nextest run -p shipper$", run_lines(es), re.M)
    assert "pip install -r requirements-dev.txt" in run_lines(es)
    assert "python3 -m pytest dashboards/tests" in run_lines(jobs["dashboards"])


def test_dashboards_workflow_runs_setup_with_the_cluster_secrets():
    workflow = load("dashboards.yml")
    assert {"dashboards/**", "shipper/resources/**"} <= set(triggers(workflow)["push"]["paths"])
    step = [s for s in workflow["jobs"]["setup"]["steps"] if "setup" in s.get("run", "")][0]
    assert re.search(r"cargo run --release .*-p shipper -- setup", step["run"])
    for name in ("ELASTICSEARCH_URL", "KIBANA_URL", "ELASTICSEARCH_API_KEY"):
        assert step["env"][name] == "${{ secrets.%s }}" % name


def test_actions_are_pinned_to_a_version():
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for action in uses(job):
                name, _, ref = action.partition("@")
                assert ref, f"{path.name}: {action} is not pinned"
                assert ref not in ("main", "master"), f"{path.name}: {action} follows a branch"
