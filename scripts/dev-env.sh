# Sourced by scripts/test, .ci/run and the scripts/check-* scripts: the test tools' environment.
#
# 1. Checks, before anything is built, that every system tool the tests use is installed, and
#    stops with one message listing each missing tool and how to install it.
# 2. Puts the Python test tools (requirements-dev.txt) in a virtual environment, .venv at the
#    repository root (VOCAB_VENV to put it elsewhere), created on first use and updated when
#    requirements-dev.txt changes, and puts its bin/ first on PATH. A virtual environment
#    because a stock Debian python3 refuses `pip install` outside one (PEP 668).
#
# SKIP_TERRAFORM=1 runs every check but `terraform fmt` on a machine without Terraform.

_dev_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_dev_missing=()

# need COMMAND "what it is and how to install it"
_dev_need() {
  command -v "$1" >/dev/null 2>&1 || _dev_missing+=("$1: $2")
}

_dev_need cargo "Rust 1.88 or later (rustup: https://rustup.rs)"
if command -v cargo >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
  _dev_missing+=("cargo-nextest: cargo install --locked cargo-nextest")
fi
_dev_need python3 "Python 3.11 or later (apt-get install python3 python3-venv)"
if command -v python3 >/dev/null 2>&1; then
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    _dev_missing+=("python3 >= 3.11: found $(python3 -V 2>&1)")
  elif ! python3 -c 'import venv, ensurepip' 2>/dev/null && [ ! -x "${VOCAB_VENV:-$_dev_root/.venv}/bin/python" ]; then
    _dev_missing+=("python3 venv module: apt-get install python3-venv")
  fi
fi
_dev_need node "Node.js 20 or later: the web app's tests and the CloudFront functions' (nodejs.org, or Debian's nodejs where it is 20+)"
if [ -z "${CHROMIUM_PATH:-}" ] || [ ! -x "${CHROMIUM_PATH:-}" ]; then
  _dev_need chromium "the headless browser of the browser and screenshot tests (apt-get install chromium; nothing downloads a browser), or set CHROMIUM_PATH"
fi
_dev_need docker-compose "checks docker-compose.yml without a Docker engine (apt-get install --no-install-recommends docker-compose)"
# The web app (scripts/test-web): Node.js + npm, Debian's Chromium, libfaketime.
_dev_need npm "npm, with Node.js 20.19 or later (https://nodejs.org; Debian's nodejs package is too old)"
if command -v node >/dev/null 2>&1; then
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
    _dev_missing+=("node >= 20.19: found $(node --version) (https://nodejs.org)")
else
  _dev_missing+=("node: Node.js 20.19 or later (https://nodejs.org)")
fi
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] ||
  _dev_missing+=("chromium: the browser tests' browser (apt-get install chromium), or set CHROMIUM_PATH; no test downloads one")
compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || compgen -G '/usr/lib/faketime/libfaketime.so.1' >/dev/null ||
  _dev_missing+=("libfaketime: moves vocab-local's clock in a browser test (apt-get install faketime)")
if [ "${SKIP_TERRAFORM:-}" != 1 ]; then
  _dev_need terraform "Terraform 1.11 or later, for terraform fmt (https://developer.hashicorp.com/terraform/install; no Debian or PyPI package has it), or set SKIP_TERRAFORM=1 to skip that one check"
fi

if [ "${#_dev_missing[@]}" -gt 0 ]; then
  {
    echo "The tests need these tools, which are not installed:"
    printf '  - %s\n' "${_dev_missing[@]}"
    echo "(.ci/run installs the Debian packages itself when run as root.)"
  } >&2
  exit 1
fi

_dev_venv=${VOCAB_VENV:-$_dev_root/.venv}
_dev_requirements=${VOCAB_REQUIREMENTS:-$_dev_root/requirements-dev.txt}
if [ ! -x "$_dev_venv/bin/python" ]; then
  echo "dev-env: creating the virtual environment $_dev_venv" >&2
  python3 -m venv "$_dev_venv"
fi
_dev_stamp=$(sha256sum "$_dev_requirements" | cut -d' ' -f1)
if [ "$(cat "$_dev_venv/.requirements.sha256" 2>/dev/null)" != "$_dev_stamp" ]; then
  echo "dev-env: installing $(basename "$_dev_requirements") into $_dev_venv" >&2
  "$_dev_venv/bin/python" -m pip install -q --disable-pip-version-check -r "$_dev_requirements"
  echo "$_dev_stamp" >"$_dev_venv/.requirements.sha256"
fi
export VIRTUAL_ENV=$_dev_venv
case ":$PATH:" in
  *":$_dev_venv/bin:"*) ;;
  *) export PATH="$_dev_venv/bin:$PATH" ;;
esac
unset _dev_missing _dev_stamp
