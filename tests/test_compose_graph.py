"""Issue 14, "The local stack starts every time": the dependency graph of docker-compose.yml.

Docker can't run here, so the start-up order is checked from the file: every service that
needs another waits for it to be *ready* (its healthcheck, or a one-shot's successful end),
never merely started; every service waited on for its health has a healthcheck; one-shots
that can race what they wait for are restarted on failure; long-running services restart.
"""
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def services():
    with open(os.path.join(ROOT, "docker-compose.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)["services"]


def needs(service):
    """depends_on as {name: condition} (the short list form means 'started' only)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def is_one_shot(name, services):
    """A service someone waits on to complete successfully."""
    return any(needs(s).get(name) == "service_completed_successfully" for s in services.values())


def test_issue_14_every_dependency_waits_for_readiness_not_for_a_start(services):
    for name, service in services.items():
        for dep, condition in needs(service).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert condition in ("service_healthy", "service_completed_successfully"), (
                f"{name} waits only for {dep} to start ({condition}); wait for its health"
            )


def test_issue_14_services_waited_on_for_health_have_a_healthcheck(services):
    for name, service in services.items():
        for dep, condition in needs(service).items():
            if condition == "service_healthy":
                check = services[dep].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {dep}'s health, but {dep} has no healthcheck"
                )


def test_issue_14_the_api_waits_for_a_healthy_dynamodb(services):
    assert needs(services["vocab-api"]).get("dynamodb") == "service_healthy"


def test_issue_14_one_shots_are_retried_and_long_running_services_restart(services):
    for name, service in services.items():
        restart = str(service.get("restart", "no"))
        if is_one_shot(name, services):
            assert restart.startswith("on-failure"), (
                f"one-shot {name} can race what it waits for: restart: on-failure, not {restart}"
            )
        elif needs(service) or name in ("dynamodb",):
            assert restart in ("unless-stopped", "always") or restart.startswith("on-failure"), (
                f"{name} is long-running and depends on others: give it a restart policy"
            )


def test_issue_14_the_graph_has_no_cycle(services):
    state = {}

    def visit(name, path):
        assert state.get(name) != "open", "dependency cycle: " + " → ".join(path + [name])
        if state.get(name) == "done":
            return
        state[name] = "open"
        for dep in needs(services[name]):
            visit(dep, path + [name])
        state[name] = "done"

    for name in services:
        visit(name, [])


def test_the_checks_catch_a_plain_depends_on_list():
    broken = {"a": {"depends_on": ["b"]}, "b": {}}
    assert needs(broken["a"]) == {"b": "service_started"}
    with pytest.raises(AssertionError):
        test_issue_14_every_dependency_waits_for_readiness_not_for_a_start(broken)
