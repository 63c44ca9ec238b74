#!/usr/bin/env bash
# Build or refresh a virtual environment from the hashed locks in requirements/: the one
# install path of `make run` (runtime), `make test` (--dev), CI (through make test) and the
# Dockerfile (runtime, --no-editable, /opt/venv).
#
#   scripts/install.sh [--dev] [--no-editable] [--check] [VENV]      (VENV default: .venv)
#   scripts/install.sh --which-python
#
# A VENV that does not work is rebuilt, not patched: one made by another Python (3.13, where
# durable-rules does not import), or one where the packages do not import. A VENV whose
# stamp matches the locks is left alone (a second run takes well under a second). --check
# only says whether VENV is up to date (exit 0) or what would be done (exit 1).
# --which-python says which interpreter a new VENV would be made with (PYTHON, or the one
# `pick_python` finds) and how it is built.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=runtime editable=-e check=0 which=0 venv=.venv
for arg in "$@"; do
  case "$arg" in
    --dev) mode=dev ;;
    --no-editable) editable= ;;
    --check) check=1 ;;
    --which-python) which=1 ;;
    -*) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
    *) venv=$arg ;;
  esac
done

# durable-rules 2.0.28 is built from source with gcc and does not import on Python 3.13.
right_python='import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))'
works='import durable.lang, orjson, fastapi, pydantic_settings, gunicorn, uvicorn_worker, prometheus_client, api.settings'

# Which interpreter makes a new venv, when PYTHON does not say: every python3.11, python3.12
# and python3 on PATH, in that order, that can make a venv and build durable-rules (Python.h);
# among them, the first whose interpreter is not linked to a shared libpython. That build
# costs the engine: on the development machine pyenv's 3.11.7 (libpython3.11.so, without LTO)
# executed 8-10 % more instructions per check than Debian's 3.11.2 (one static binary, LTO and
# PGO) and took 10-20 % longer (bench/README.md). pyenv's shims come first on PATH, so without
# this choice the slower one was taken. Failing all that, the first 3.11 or 3.12 that runs.
# How the running interpreter is linked: shared is True, False, or None where not known.
linked='try:
    with open("/proc/self/maps") as maps: shared = any("/libpython" in line for line in maps)
except OSError: shared = None'
probe="import importlib.util, os, sys, sysconfig
if not (3, 11) <= sys.version_info[:2] < (3, 13): sys.exit(1)
builds = importlib.util.find_spec('ensurepip') is not None and os.path.exists(
    os.path.join(sysconfig.get_paths()['include'], 'Python.h'))
$linked
print(sys.executable, int(builds), int(builds and shared is False))"
describe="import sys
$linked
how = {True: 'linked to a shared libpython', False: 'one static binary', None: 'linked how is not known'}
print(f'{sys.executable} (Python {sys.version.split()[0]}, {how[shared]})')"

pick_python() {
  local candidate found exe can_build is_fast python fallback= buildable= fast=
  while read -r candidate; do
    # pyenv shims may exist and fail: the interpreter must really run.
    found=$("$candidate" -c "$probe" 2>/dev/null) || continue
    read -r exe can_build is_fast <<<"$found"
    fallback=${fallback:-$exe}
    [ "$can_build" = 1 ] && buildable=${buildable:-$exe}
    if [ "$is_fast" = 1 ]; then fast=$exe; break; fi
  done < <(type -ap python3.11 python3.12 python3)
  python=${fast:-${buildable:-$fallback}}
  [ -n "$python" ] && echo "$python"
}

if [ "$which" = 1 ]; then  # the interpreter a new venv would be made with, and how it is built
  chosen=${PYTHON:-}
  if [ -z "$chosen" ] && ! chosen=$(pick_python); then
    echo "no Python 3.11 or 3.12 on PATH; set PYTHON" >&2
    exit 1
  fi
  "$chosen" -c "$describe"
  exit
fi

# The locks, and how durable-rules is built: a change to either reinstalls.
digest() { cat "$@" pyproject.toml scripts/build-durable.sh | sha256sum | cut -c1-16; }
runtime_locks=(requirements/build.txt requirements/runtime.txt)
dev_locks=("${runtime_locks[@]}" requirements/dev.txt)
if [ -n "$editable" ]; then flavour=editable; else flavour=installed; fi
if [ "$mode" = dev ]; then
  want="$(digest "${dev_locks[@]}") dev $flavour"
  also=$want
else
  want="$(digest "${runtime_locks[@]}") runtime $flavour"
  also="$(digest "${dev_locks[@]}") dev $flavour"  # a dev install covers a runtime one
fi
stamp="$venv/.installed"

problem=
if [ -e "$venv" ]; then
  if ! "$venv/bin/python" -V >/dev/null 2>&1; then
    problem="its python does not run"
  elif ! "$venv/bin/python" -c "$right_python"; then
    problem="it was built by $("$venv/bin/python" -V 2>&1), not Python 3.11 or 3.12"
  elif [ -f "$stamp" ] && ! "$venv/bin/python" -c "$works" 2>/dev/null; then
    problem="its packages do not import ($({ "$venv/bin/python" -c "$works" 2>&1 || true; } | tail -1))"
  fi
fi
have="$(cat "$stamp" 2>/dev/null || true)"
up_to_date() { [ -z "$problem" ] && [ -n "$have" ] && { [ "$have" = "$want" ] || [ "$have" = "$also" ]; }; }

if up_to_date; then exit 0; fi
if [ "$check" = 1 ]; then
  if [ -n "$problem" ]; then echo "$venv: $problem: it would be rebuilt"
  else echo "$venv: not installed from the current locks: it would be (re)installed"; fi
  exit 1
fi

if [ -n "$problem" ]; then
  echo "$venv: $problem: rebuilding it" >&2
  rm -rf "$venv"
fi
if [ ! -e "$venv" ]; then
  python=${PYTHON:-}
  if [ -z "$python" ]; then
    python=$(pick_python) || {
      echo "Python 3.11 or 3.12 is required (durable-rules does not build on 3.13); set PYTHON" >&2
      exit 1
    }
  elif ! "$python" -c "$right_python" 2>/dev/null; then
    echo "PYTHON=$python is not Python 3.11 or 3.12 (durable-rules does not build on 3.13)" >&2
    exit 1
  fi
  echo "$venv: made with $("$python" -c "$describe" 2>/dev/null || echo "$python")" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
rm -f "$stamp"
# setuptools first (pinned, hashed), then everything else built with it, offline of any
# unpinned build dependency. gcc compiles durable-rules here, first and with the
# interpreter's optimisation flags, which its setup.py would lose (scripts/build-durable.sh).
"${pip[@]}" install --quiet --require-hashes -r requirements/build.txt
scripts/build-durable.sh "$venv/bin/python"
"${pip[@]}" install --quiet --require-hashes --no-build-isolation -r "requirements/$mode.txt"
if [ -n "$editable" ]; then
  project=(-e .)
else  # built from a copy: an in-tree build would leave build/ behind in the sources
  source_copy=$(mktemp -d)
  trap 'rm -rf "$source_copy"' EXIT
  cp -r pyproject.toml README.md engine rules api "$source_copy/"
  project=("$source_copy")
fi
"${pip[@]}" install --quiet --no-deps --no-build-isolation "${project[@]}"
"$venv/bin/python" -c "$works"
echo "$want" > "$stamp"
