#!/usr/bin/env bash
# The main job: set up the tool (Python 3.11 + PySide6, as in Maya 2025/2026) and run it on
# simulated hardware, since Maya itself is not needed to see it work.
#   bash scripts/demo.sh
set -euo pipefail
source "$(dirname "$0")/_env.sh"
cd "$ROOT"
python="$(find_python 3.11)"
venv_python="$(ensure_venv py3.11-pyside6 "$python" "PySide6-Essentials==6.5.3")"
cli="$(dirname "$venv_python")/lrc-batch-render"

echo "== This machine, as the manager sees it"
"$cli" info
echo
echo "== The same machine with 4 simulated GPUs (LRC_SIMULATE_GPUS=4)"
LRC_SIMULATE_GPUS=4 "$cli" info
echo
echo "== Frame list '1-100x5' (a stepped range keeps its first and last frame)"
"$cli" frames "1-100x5"
echo
echo "== A bad frame list is explained, with a caret under the problem (exit 2)"
"$cli" frames "1-10x0" || echo "(exit code $?)"
echo
echo "== The layers of a sample scene"
"$cli" layers lrc_toolbox/sim/scenes/shot010_lighting.ma
echo
echo "== The real worker rendering three frames inside the simulated mayapy"
out="$(mktemp -d)"
printf '%s\n' '{"op": "render", "layer": "BG", "frames": [1, 2, 3]}' '{"op": "quit"}' |
  LRC_SIM_TIME_SCALE=0.05 "$venv_python" -m lrc_toolbox.sim.mayapy -m lrc_toolbox.worker \
    --scene lrc_toolbox/sim/scenes/shot010_lighting.ma --output-dir "$out" | grep '^@lrc'
echo "files written:"; find "$out" -type f | sort
