# Sourced by scripts/test: starts the API emulators the tests use, once for the whole run, on
# free loopback ports, and exports their URLs. Each is stopped on exit. A URL already set in the
# environment (e.g. ELASTICSEARCH_URL for a real cluster) is used as it is and nothing is started.
# These are third-party emulators of the Elasticsearch/OpenSearch/AWS APIs, not the real services.

_emu_pids=()
_emu_dir=$(mktemp -d)
_emu_stop() { for p in "${_emu_pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$_emu_dir"; }
trap _emu_stop EXIT

_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

_wait_http() { # url name
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; then return 0; fi
    # 401/404 answers mean the server is up.
    if python3 -c "
import urllib.request,urllib.error,sys
try: urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError: sys.exit(0)
except Exception: sys.exit(1)" "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "emulators: $2 did not answer at $1" >&2; return 1
}

if [ -z "${NOIDA_URL:-}" ] && command -v noida-db >/dev/null; then
  port=$(_free_port)
  # The `noida-db` on PATH is a wrapper whose child is the server: start the server itself,
  # so stopping it by PID stops it.
  "$(python3 -c "from importlib.resources import files; print(files('noida_db').joinpath('noida-db'))")" start --data-dir "$_emu_dir/noida" --host 127.0.0.1 --only elasticsearch --elasticsearch-port "$port" </dev/null >"$_emu_dir/noida.log" 2>&1 &
  _emu_pids+=($!)
  export NOIDA_URL="http://127.0.0.1:$port"
  _wait_http "$NOIDA_URL" noida-db
fi
if [ -z "${OSMEM_URL:-}" ] && python3 -c 'import osmem_server' 2>/dev/null; then
  port=$(_free_port)
  "$(python3 -c 'import osmem_server as o; print(o.resolve_binary())')" -addr "127.0.0.1:$port" -no-stdin-watch -no-ja </dev/null >"$_emu_dir/osmem.log" 2>&1 &
  _emu_pids+=($!)
  export OSMEM_URL="http://127.0.0.1:$port"
  _wait_http "$OSMEM_URL" osmem-server
fi
if [ -z "${MOTO_URL:-}" ] && command -v moto_server >/dev/null; then
  port=$(_free_port)
  moto_server -H 127.0.0.1 -p "$port" </dev/null >"$_emu_dir/moto.log" 2>&1 &
  _emu_pids+=($!)
  export MOTO_URL="http://127.0.0.1:$port"
  _wait_http "$MOTO_URL/moto-api/" moto
fi
echo "emulators: noida-db=${NOIDA_URL:-none} osmem=${OSMEM_URL:-none} moto=${MOTO_URL:-none} elasticsearch=${ELASTICSEARCH_URL:-none}" >&2
