# Sourced by scripts/test: starts the API emulators the tests use, once for the whole run, on
# free loopback ports, and exports their URLs. A URL already set in the environment (e.g.
# ELASTICSEARCH_URL for a real cluster) is used as it is and nothing is started for it.
# These are third-party emulators of the Elasticsearch/OpenSearch/AWS APIs, not the real services.
#
# Each emulator is stopped on every exit of the shell that sourced this file: a normal end, a
# failed step (set -e), Ctrl-C, a TERM or HUP from a CI runner (the EXIT trap), and even a
# SIGKILL, which no trap sees (each emulator is started with a parent-death signal, so the
# kernel stops it when that shell dies).

_emu_pids=()
_emu_dir=$(mktemp -d)

_emu_stop() {
  local p
  for p in "${_emu_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  # Give them a moment to exit, then make sure: a dying emulator must not keep its port.
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${_emu_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${_emu_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ "${#_emu_pids[@]}" -gt 0 ]; then wait "${_emu_pids[@]}" 2>/dev/null || true; fi
  _emu_pids=()
  rm -rf "$_emu_dir"
}
# Signals become a normal exit so that the EXIT trap runs (and the exit status says why).
trap _emu_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# _emu_start LOGNAME COMMAND...: in the background, killed by the kernel if this shell dies.
_emu_start() {
  local log=$1
  shift
  if command -v setpriv >/dev/null 2>&1; then
    setpriv --pdeathsig TERM -- "$@" </dev/null >"$_emu_dir/$log.log" 2>&1 &
  else
    "$@" </dev/null >"$_emu_dir/$log.log" 2>&1 &
  fi
  _emu_pids+=($!)
}

_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

_wait_http() { # url name
  for _ in $(seq 1 100); do
    # Any HTTP answer (401/404 included) means the server is up.
    if python3 -c "
import urllib.request,urllib.error,sys
try: urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError: pass
except Exception: sys.exit(1)" "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "emulators: $2 did not answer at $1; its log:" >&2
  cat "$_emu_dir/$2.log" >&2 || true
  return 1
}

if [ -z "${NOIDA_URL:-}" ] && command -v noida-db >/dev/null; then
  port=$(_free_port)
  # The `noida-db` on PATH is a Python wrapper whose child is the server: start the server
  # itself, so that stopping it by PID stops it.
  _emu_start noida-db "$(python3 -c "from importlib.resources import files; print(files('noida_db').joinpath('noida-db'))")" \
    start --data-dir "$_emu_dir/noida" --host 127.0.0.1 --only elasticsearch --elasticsearch-port "$port"
  export NOIDA_URL="http://127.0.0.1:$port"
  _wait_http "$NOIDA_URL" noida-db
fi
if [ -z "${OSMEM_URL:-}" ] && python3 -c 'import osmem_server' 2>/dev/null; then
  port=$(_free_port)
  _emu_start osmem-server "$(python3 -c 'import osmem_server as o; print(o.resolve_binary())')" \
    -addr "127.0.0.1:$port" -no-stdin-watch -no-ja
  export OSMEM_URL="http://127.0.0.1:$port"
  _wait_http "$OSMEM_URL" osmem-server
fi
if [ -z "${MOTO_URL:-}" ] && command -v moto_server >/dev/null; then
  port=$(_free_port)
  _emu_start moto moto_server -H 127.0.0.1 -p "$port"
  export MOTO_URL="http://127.0.0.1:$port"
  _wait_http "$MOTO_URL/moto-api/" moto
fi
echo "emulators: noida-db=${NOIDA_URL:-none} osmem=${OSMEM_URL:-none} moto=${MOTO_URL:-none} elasticsearch=${ELASTICSEARCH_URL:-none}" >&2
