#!/usr/bin/env bash
# Run every test on every supported Python/Qt leg (what .ci/run and the README call).
#   bash scripts/test.sh                   all legs, lint + types, full suite
#   bash scripts/test.sh --leg 3.11        one leg only (its name, first column below; the
#   bash scripts/test.sh --leg newest      venv name works too);  args after -- go to pytest
# A leg whose interpreter or Qt binding cannot be set up fails the run: never a silent skip.
set -euo pipefail
source "$(dirname "$0")/_env.sh"
cd "$ROOT"

# leg     python  binding  pip requirement                  (what it stands for)
# Each leg has its own venv, .venvs/py<python>-<binding>, plus -<leg> when the leg's name is
# not its Python version, so two legs on one Python and binding never share one.
LEGS=(
  "3.10     3.10  PySide2  PySide2==5.15.2.1"                # Maya 2024
  "3.11     3.11  PySide6  PySide6-Essentials==6.5.3"        # Maya 2025 / 2026
  "3.13     3.13  PySide6  PySide6-Essentials~=6.8.0"        # Maya 2027 (expected)
  # the newest PySide6-Essentials on PyPI as of 2026-12-05: bump it when a newer one ships,
  # so the next binding break shows here first (6.12.0's broke signal.emit: qt_compat.py)
  "newest   3.11  PySide6  PySide6-Essentials==6.12.0"
)

# venv_name LEG PYTHON BINDING -> the leg's virtual environment under .venvs/
venv_name() {
  local name="py$2-${3,,}"
  [ "$1" = "$2" ] || name="$name-$1"
  echo "$name"
}

only="" ; pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --leg) only="${2:?--leg needs a leg name}"; shift 2 ;;
    --) shift; pytest_args=("$@"); break ;;
    *) pytest_args+=("$1"); shift ;;
  esac
done

start=$(date +%s)
logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT
status=0 ; ran=0 ; first=1
for leg in "${LEGS[@]}"; do
  read -r leg_name pyver binding req <<<"$leg"
  name="$(venv_name "$leg_name" "$pyver" "$binding")"
  [ -n "$only" ] && [ "$only" != "$leg_name" ] && [ "$only" != "$name" ] && continue
  ran=$((ran + 1))
  echo "=== leg $leg_name ($name): Python $pyver + $req"
  python="$(find_python "$pyver")" || { status=1; echo "LEG FAILED: $name (no interpreter)"; continue; }
  venv_python="$(ensure_venv "$name" "$python" "$req")" || { status=1; echo "LEG FAILED: $name (install)"; continue; }
  if [ "$first" = 1 ]; then
    first=0
    echo "--- lint and types (ruff, mypy) with $name"
    "$venv_python" -m ruff check . || status=1
    "$venv_python" -m ruff format --check . || status=1
    "$venv_python" -m mypy || status=1
  fi
  echo "--- pytest ($name)"
  set +e
  QT_QPA_PLATFORM=offscreen QT_PREFERRED_BINDING="$binding" PYTEST_QT_API="${binding,,}" \
    LRC_EXPECT_BINDING="$binding" PYTHONDONTWRITEBYTECODE=1 \
    "$venv_python" -m pytest -p no:cacheprovider "${pytest_args[@]}" 2>&1 | tee "$logdir/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || { status=1; echo "LEG FAILED: $name (pytest exit $rc)"; }
done
if [ "$ran" -eq 0 ]; then
  names=""; for leg in "${LEGS[@]}"; do read -r leg_name _ <<<"$leg"; names="$names $leg_name"; done
  echo "ERROR: no leg is named '$only'. The legs are:$names (or their venv names)." >&2
  exit 2
fi

# One closing line over all legs: "total: N passed, N failed".
python3 - "$logdir" "$(( $(date +%s) - start ))" <<'PY'
import pathlib, re, sys
passed = failed = skipped = 0
for log in sorted(pathlib.Path(sys.argv[1]).glob("*.log")):
    lines = [l for l in log.read_text(errors="replace").splitlines() if re.search(r"\d+ (passed|failed|error)", l)]
    last = lines[-1] if lines else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped)", last)}
    p, f, s = counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0), counts.get("skipped", 0)
    print(f"leg {log.stem}: {p} passed, {f} failed, {s} skipped")
    passed, failed, skipped = passed + p, failed + f, skipped + s
print(f"wall time: {sys.argv[2]} s")
print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
