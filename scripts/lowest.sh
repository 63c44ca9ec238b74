#!/usr/bin/env bash
# `make lowest`: the whole suite against the lowest versions pyproject.toml allows for each
# direct dependency (uv's lowest-direct resolution), in a throwaway venv: the lower bounds
# must be true, not hopes. The everyday installs come from the locks (scripts/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=${PYTHON:-$(.venv/bin/python -c 'import sys; print(sys.executable)')}
.venv/bin/uv pip compile --quiet --resolution lowest-direct --python-version 3.11 \
  pyproject.toml --extra dev -o "$work/lowest.txt"
echo "lowest direct versions:"
grep -E '^[a-z]' "$work/lowest.txt" | sed 's/^/  /'
"$python" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install --require-hashes -r requirements/build.txt
scripts/build-durable.sh "$work/venv/bin/python"  # pinned exactly, so the lowest is the lock's
"${pip[@]}" install --no-build-isolation -r "$work/lowest.txt"
"${pip[@]}" install --no-deps --no-build-isolation -e .
# Old releases next to new ones warn (deprecations, an unclosed stream in old Starlette with
# new AnyIO): reported, not failures here. Wrong answers and errors still fail.
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider -W default \
  -W default::pytest.PytestUnraisableExceptionWarning "$@"
