"""The HCL loader gives the checks one shape whichever `hcl2` module is installed."""

from infra_hcl import Module, attr, blocks, load_text

SNIPPET = '''
resource "aws_lambda_function" "fn" {
  function_name = "vocab-api-${each.key}"
  architectures = ["arm64"]
  environment {
    variables = { A = var.a }
  }
}
locals {
  fns = { lists = { binary = "vocab-lists" } }
}
'''


def test_attributes_are_unquoted_values_and_blocks_are_lists():
    fn = load_text(SNIPPET)["resource"][0]["aws_lambda_function"]["fn"]
    assert attr(fn, "function_name") == "vocab-api-${each.key}"
    assert attr(fn, "architectures") == ["arm64"]
    env = blocks(fn, "environment")
    assert len(env) == 1
    assert attr(env[0], "variables") == {"A": "${var.a}"}


def test_module_collects_resources_and_locals(tmp_path):
    mod = Module.from_texts(tmp_path, [SNIPPET])
    assert set(mod.resource("aws_lambda_function")) == {"fn"}
    assert mod.locals["fns"] == {"lists": {"binary": "vocab-lists"}}
