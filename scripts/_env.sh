# Shared by scripts/test.sh and scripts/demo.sh: find a pyenv/PATH interpreter and keep one
# virtual environment per Python/Qt leg under .venvs/ (ignored by git), rebuilt only when
# pyproject.toml or the leg's requirements change.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# find_python X.Y -> prints the path of a Python X.Y interpreter or fails loudly.
find_python() {
  local want="$1" cand
  local var="LRC_PYTHON_${want/./_}"
  for cand in "${!var:-}" "$(command -v "python$want" 2>/dev/null || true)"; do
    if [ -n "$cand" ] && "$cand" -c 'import sys; sys.exit(0 if "%d.%d" % sys.version_info[:2] == "'"$want"'" else 1)' 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  command -v pyenv >/dev/null 2>&1 && root="$(pyenv root)"
  for cand in "$root"/versions/"$want".*/bin/python3; do
    if [ -x "$cand" ]; then echo "$cand"; return 0; fi
  done
  echo "ERROR: no Python $want interpreter found (looked at \$$var, python$want on PATH and $root/versions/$want.*)." >&2
  echo "       Install it (e.g. 'pyenv install $want') or set $var to its path." >&2
  return 1
}

# ensure_venv NAME PYTHON REQUIREMENT... -> creates/updates .venvs/NAME, prints its python path.
ensure_venv() {
  local name="$1" python="$2"; shift 2
  local venv="$ROOT/.venvs/$name"
  local stamp
  stamp="$( { cat "$ROOT/pyproject.toml"; echo "$python $*"; } | sha256sum | cut -c1-16)"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "==> setting up $name ($("$python" --version 2>&1), $*)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[test,dev]" "$@" >&2
    echo "$stamp" > "$venv/.stamp"
  fi
  echo "$venv/bin/python"
}
