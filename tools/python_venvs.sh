#!/usr/bin/env bash
# The venvs `make test-py` and `make wheel` use, under $1 (build/): venv-cpython (Debian's
# python3: maturin, pytest, redis-py and hiredis for the bench) and venv-pypy (pypy3:
# pytest, redis-py, hiredis). Idempotent; pip uses this machine's own configuration.
set -euo pipefail
dir=$1
make_venv() {
    local name=$1 python=$2; shift 2
    if [ ! -x "$dir/$name/bin/python" ] || [ ! -e "$dir/$name/.deps-done" ]; then
        echo "deps: $name ($python) with $*"
        "$python" -m venv "$dir/$name"
        "$dir/$name/bin/pip" install -q "$@"
        touch "$dir/$name/.deps-done"
    fi
}
make_venv venv-cpython /usr/bin/python3 maturin pytest redis hiredis
make_venv venv-pypy /usr/bin/pypy3 pytest redis hiredis
