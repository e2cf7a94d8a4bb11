"""Fixtures of the infra tests: the parsed Terraform of every module and environment."""

import pytest

from infra_hcl import Module, env_dirs, module_dirs


@pytest.fixture(scope="session")
def modules() -> dict[str, Module]:
    return {p.name: Module.load(p) for p in module_dirs()}


@pytest.fixture(scope="session")
def envs() -> dict[str, Module]:
    return {p.name: Module.load(p) for p in env_dirs()}


@pytest.fixture(scope="session")
def prod(envs) -> Module:
    return envs["prod"]


@pytest.fixture(scope="session")
def stack(modules) -> Module:
    """modules/environment: what every environment root instantiates."""
    return modules["environment"]
