"""The GitHub workflows build what the crates define, deploy what infra/ defines, only after CI
passed, never racing a Terraform apply, through OIDC roles; and run the checks the README
promises."""

import re
import tomllib

import pytest
import yaml

from infra_hcl import INFRA, REPO, Module, attr

WORKFLOWS = REPO / ".github" / "workflows"
SCRIPTS = REPO / "scripts"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def run_lines(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uses(job: dict) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def step_using(job: dict, action: str) -> dict:
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]
    return step


def bash_array(script: str, name: str) -> list[str]:
    text = (SCRIPTS / script).read_text()
    body = re.search(rf"^{name}=\((.*?)\)$", text, re.M | re.S).group(1)
    return re.findall(r'"([^"]*)"|(\S+)', body) and [a or b for a, b in re.findall(r'"([^"]*)"|([^\s"]+)', body)]


def terraform_functions() -> set[tuple[str, str, str]]:
    """(function name suffix after the prefix, binary, region) of every function infra/ creates;
    region "" is the environment's own."""
    api = Module.load(INFRA / "modules" / "vocab_api")
    fn = api.resource("aws_lambda_function")["api"]
    assert attr(fn, "function_name") == "${var.name_prefix}-api-${each.key}"
    assert attr(fn, "for_each") == "${local.functions}"
    found = {(f"api-{area}", f["binary"], "") for area, f in api.locals["functions"].items()}
    stack = Module.load(INFRA / "modules" / "environment")
    shipper_name = stack.locals["shipper_function_name"]
    assert shipper_name.startswith("${var.name_prefix}-")
    suffix = shipper_name[len("${var.name_prefix}-"):]
    for call_name, call in stack.modules.items():
        if stack.module_dir(call_name).name == "shipper":
            assert attr(call, "function_name") == "${local.shipper_function_name}"
            provider = (attr(call, "providers") or {}).get("aws", "")
            found.add((suffix, "shipper", "us-east-1" if "us_east_1" in provider else ""))
    return found


def test_deploy_script_deploys_exactly_the_terraform_functions_with_their_binaries():
    rows = {tuple((row.split() + [""])[:3]) for row in bash_array("deploy-lambdas", "FUNCTIONS")}
    assert rows == terraform_functions()
    assert ("log-shipper", "shipper", "us-east-1") in rows  # the WAF logs' shipper


def test_build_script_builds_exactly_the_deployed_binaries_and_no_other():
    built = set(bash_array("build-lambdas", "BINARIES"))
    assert built == {binary for _, binary, _ in terraform_functions()}
    text = (SCRIPTS / "build-lambdas").read_text()
    # The shipped artifact gets the `dist` profile (release + LTO), which a newcomer's build skips.
    assert 'cargo lambda build --profile dist --locked --arm64 --output-format zip "${args[@]}"' in text
    dist = tomllib.loads((REPO / "Cargo.toml").read_text())["profile"]["dist"]
    assert dist["inherits"] == "release" and dist.get("lto") not in (None, False, "off")
    assert 'args+=(--bin "$binary")' in text
    assert " -p " not in text and "--workspace" not in text  # a package would build vocab-local too


@pytest.mark.parametrize("crate,binaries", [
    ("vocab-api", ["vocab-lists", "vocab-words", "vocab-quiz", "vocab-me"]),
    ("shipper", ["shipper"]),
])
def test_deployed_binaries_are_bins_of_the_crates(crate, binaries):
    manifest = tomllib.loads((REPO / crate / "Cargo.toml").read_text())
    bins = {b["name"] for b in manifest.get("bin", [])}
    bins |= {p.stem for p in (REPO / crate / "src" / "bin").glob("*.rs")}
    if crate == "shipper":
        bins.add(manifest["package"]["name"])  # src/main.rs
    assert set(binaries) <= bins


def test_lambda_build_tools_are_pinned():
    pins = [line for line in (REPO / "requirements-lambda.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert sorted(p.split("==")[0] for p in pins) == ["cargo-lambda", "ziglang"]
    assert all(re.fullmatch(r"[\w-]+==[\w.]+", p) for p in pins), pins
    assert "-r requirements-lambda.txt" in (SCRIPTS / "build-lambdas").read_text()


def test_ci_builds_the_arm64_lambdas_on_pull_requests_too():
    workflow = load("ci.yml")
    assert "pull_request" in triggers(workflow)
    job = workflow["jobs"]["lambdas"]
    assert "if" not in job
    assert step_using(job, "dtolnay/rust-toolchain")["with"]["targets"] == "aarch64-unknown-linux-gnu"
    assert re.search(r"^scripts/build-lambdas$", run_lines(job), re.M)
    upload = step_using(job, "actions/upload-artifact")["with"]
    assert upload["name"] == "lambda-zips" and upload["if-no-files-found"] == "error"
    # main's runs finish, so each commit of main has its zips.
    assert workflow["concurrency"]["cancel-in-progress"] == "${{ github.ref != 'refs/heads/main' }}"


def test_backend_deploys_only_zips_of_a_commit_whose_ci_passed():
    workflow = load("deploy-backend.yml")
    on = triggers(workflow)
    assert on["workflow_run"] == {"workflows": ["ci"], "types": ["completed"], "branches": ["main"]}
    assert "push" not in on
    zips = workflow["jobs"]["zips"]
    assert "github.event.workflow_run.conclusion == 'success'" in zips["if"]
    assert "--status success" in run_lines(zips) and '--commit "$GITHUB_SHA"' in run_lines(zips)
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "zips"
    download = step_using(deploy, "actions/download-artifact")["with"]
    assert download["name"] == "lambda-zips"
    assert download["run-id"] == "${{ needs.zips.outputs.run-id }}"
    assert "cargo" not in run_lines(deploy), "deploy builds nothing: it deploys what CI tested"


def test_backend_deploy_publishes_versions_behind_live_and_rollback_moves_the_alias():
    workflow = load("deploy-backend.yml")
    deploy = workflow["jobs"]["deploy"]
    assert re.search(r"^scripts/deploy-lambdas deploy target/lambda$", run_lines(deploy), re.M)
    inputs = triggers(workflow)["workflow_dispatch"]["inputs"]
    assert inputs["action"]["options"] == ["deploy", "rollback"]
    assert {"function", "version", "environment"} <= set(inputs)
    rollback = workflow["jobs"]["rollback"]
    assert "inputs.action == 'rollback'" in rollback["if"]
    assert 'scripts/deploy-lambdas rollback "$FUNCTION" "$VERSION"' in run_lines(rollback)
    script = (SCRIPTS / "deploy-lambdas").read_text()
    for needle in ("update-function-code", "--publish", "update-alias", "ALIAS=live"):
        assert needle in script


def _concurrency_group(job: dict) -> str:
    return job["concurrency"]["group"]


def test_deploys_and_applies_of_one_environment_never_run_at_once():
    backend = load("deploy-backend.yml")["jobs"]
    apply = load("terraform.yml")["jobs"]["apply"]
    assert _concurrency_group(backend["deploy"]) == "aws-${{ matrix.environment }}"
    assert _concurrency_group(backend["rollback"]) == "aws-${{ inputs.environment }}"
    assert _concurrency_group(apply) == "aws-${{ matrix.environment }}"
    assert {e["environment"] for e in apply["strategy"]["matrix"]["include"]} == set(
        backend["deploy"]["strategy"]["matrix"]["environment"])
    for job in (backend["deploy"], backend["rollback"], apply):
        assert job["concurrency"]["cancel-in-progress"] is False


@pytest.mark.parametrize("workflow,job,role_var", [
    ("deploy-backend.yml", "deploy", "AWS_DEPLOY_BACKEND_ROLE_ARN"),
    ("deploy-backend.yml", "rollback", "AWS_DEPLOY_BACKEND_ROLE_ARN"),
    ("deploy-frontend.yml", "deploy", "AWS_DEPLOY_FRONTEND_ROLE_ARN"),
])
def test_deploys_use_oidc_roles_in_a_github_environment_not_keys(workflow, job, role_var):
    job = load(workflow)["jobs"][job]
    assert job["permissions"]["id-token"] == "write"
    assert "environment" in job  # the roles trust repo:<repo>:environment:<name> only
    creds = step_using(job, "aws-actions/configure-aws-credentials")["with"]
    assert creds["role-to-assume"] == "${{ vars.%s }}" % role_var
    assert not any(k in str(creds) for k in ("aws-access-key-id", "aws-secret-access-key"))


def test_environments_deploy_staging_first_and_stop_on_its_failure():
    for workflow in ("deploy-backend.yml", "deploy-frontend.yml"):
        strategy = load(workflow)["jobs"]["deploy"]["strategy"]
        assert strategy["matrix"]["environment"] == ["staging", "production"]
        assert strategy["max-parallel"] == 1 and strategy["fail-fast"] is True
    stack = Module.load(INFRA / "modules" / "environment")
    trust = stack.data["aws_iam_policy_document"]["deploy_trust"]["statement"][0]
    subjects = [attr(c, "values") for c in trust["condition"] if attr(c, "variable") == "token.actions.githubusercontent.com:sub"]
    assert subjects == [["repo:${var.github_repository}:environment:${var.github_environment}"]]
    envs = {p.name: Module.load(p) for p in (INFRA / "envs").iterdir()}
    assert {attr(e.variables["github_environment"], "default") for e in envs.values()} == {"staging", "production"}


def test_frontend_deploy_checks_builds_and_uploads_with_cache_headers():
    workflow = load("deploy-frontend.yml")
    assert "web/**" in triggers(workflow)["push"]["paths"]
    build = workflow["jobs"]["build"]
    assert build["defaults"]["run"]["working-directory"] == "web"
    steps = [s["run"] for s in build["steps"] if "run" in s]
    assert steps == ["npm ci", "npm run typecheck", "npm run lint", "npm test", "npm run build"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert re.search(r"^scripts/deploy-web web/dist$", run_lines(deploy), re.M)
    env = [s for s in deploy["steps"] if "deploy-web" in s.get("run", "")][0]["env"]
    assert env == {"APP_BUCKET": "${{ vars.APP_BUCKET }}", "APP_DISTRIBUTION_ID": "${{ vars.APP_DISTRIBUTION_ID }}"}


def test_pull_requests_plan_with_a_plan_only_token_and_only_main_applies():
    workflow = load("terraform.yml")
    on = triggers(workflow)
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert step_using(plan, "hashicorp/setup-terraform")["with"]["cli_config_credentials_token"] == "${{ secrets.TF_PLAN_API_TOKEN }}"
    assert "apply" not in run_lines(plan) and "environment" not in plan
    assert "terraform plan" in run_lines(plan)
    assert "refs/heads/main" in apply["if"] and "pull_request" in apply["if"]
    assert apply["environment"] == "${{ matrix.environment }}"
    assert step_using(apply, "hashicorp/setup-terraform")["with"]["cli_config_credentials_token"] == "${{ secrets.TF_API_TOKEN }}"
    assert "terraform apply -auto-approve" in run_lines(apply)
    for job in (plan, apply):
        workdir = job["defaults"]["run"]["working-directory"]
        for env in ("staging", "prod"):
            assert (REPO / workdir.replace("${{ matrix.env }}", env) / "versions.tf").is_file()
    assert workflow["env"]["TF_CLOUD_ORGANIZATION"] == "${{ vars.TF_CLOUD_ORGANIZATION }}"


def test_ci_runs_the_projects_ci_command_on_debian_and_the_elasticsearch_and_dashboards_jobs():
    jobs = load("ci.yml")["jobs"]
    test = jobs["test"]
    assert re.fullmatch(r"rust:[\w.]*-?bookworm", test["container"])  # Debian: apt chromium is real
    assert re.search(r"^bash \.ci/run$", run_lines(test), re.M)
    assert step_using(test, "actions/setup-node")["with"]["node-version"] == "20"
    assert step_using(test, "hashicorp/setup-terraform")["with"]["terraform_wrapper"] is False
    es = jobs["elasticsearch"]
    image = es["services"]["elasticsearch"]["image"]
    assert re.fullmatch(r"docker\.elastic\.co/elasticsearch/elasticsearch:9\.5\.\d+", image)
    assert es["env"]["ELASTICSEARCH_URL"] == "http://localhost:9200"
    assert re.search(r"^cargo nextest run -p shipper$", run_lines(es), re.M)
    assert "python3 -m pytest dashboards/tests" in run_lines(jobs["dashboards"])
    for job in (es, jobs["dashboards"]):
        assert "python3 -m venv .venv" in run_lines(job)  # no bare pip install (PEP 668)


def test_ci_command_installs_what_the_tests_need_and_never_pip_installs_outside_a_venv():
    ci_run = (REPO / ".ci" / "run").read_text()
    assert "source scripts/dev-env.sh" in ci_run
    assert re.search(r"apt_packages=\(.*docker-compose", ci_run)
    assert re.search(r"^scripts/test$", ci_run, re.M)
    for text in (ci_run, (REPO / "scripts" / "test").read_text(), (REPO / "README.md").read_text()):
        assert not re.search(r"^\s*(python3 -m )?pip3? install", text, re.M), "pip install outside a virtual environment"


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
