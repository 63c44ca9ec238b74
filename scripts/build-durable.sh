#!/usr/bin/env bash
# Compile durable-rules, as pinned in requirements/runtime.txt, into the venv of the python
# given (setuptools must be there already): scripts/install.sh and scripts/lowest.sh run it
# before the rest of their installs, which then find it in place.
#
#   scripts/build-durable.sh VENV/bin/python
#
# With the flags the interpreter builds every other C extension with (sysconfig CFLAGS: -O3
# under pyenv's and python.org's builds, -O2 and hardening under Debian's), which durable-rules
# had been losing: its setup.py sets CFLAGS in the environment, and the setuptools of our lock
# takes an environment CFLAGS instead of the interpreter's, not after them, so durable-rules
# was compiled without optimisation (-O0: every variable spilled to the stack), and a check
# executed 10-18 % more instructions (bench/README.md). setuptools appends CPPFLAGS to what
# it keeps, so the flags go there, after -O2 as a floor for an interpreter that names no
# level. -frecord-gcc-switches keeps them in the library, where tests/test_container.py reads
# them. Built without pip's cache, which keys a built wheel by its source alone and would hand
# back one built with other flags, and always anew: a venv built before is rebuilt with them
# (install.sh's stamp covers this script).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:?usage: scripts/build-durable.sh VENV/bin/python}
pin=$(mktemp)
trap 'rm -f "$pin"' EXIT
awk '/^durable-rules==/ {on = 1} on {print} on && !/\\$/ {exit}' requirements/runtime.txt >"$pin"
grep -q '^durable-rules==' "$pin" || { echo "no durable-rules pin in requirements/runtime.txt" >&2; exit 1; }
interpreter=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("CFLAGS") or "")')
CPPFLAGS="${CPPFLAGS:+$CPPFLAGS }-O2 $interpreter -frecord-gcc-switches" \
  "$python" -m pip --disable-pip-version-check --no-input install --quiet --require-hashes \
  --no-build-isolation --no-cache-dir --no-deps --force-reinstall -r "$pin"
