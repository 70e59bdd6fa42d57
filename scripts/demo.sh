#!/usr/bin/env bash
# The main job: set up the tool (Python 3.11 + PySide6, as in Maya 2025/2026) and run a demo
# batch on the simulator — real worker processes in a stand-in mayapy, 4 simulated GPUs with
# one kept for Maya — since Maya itself is not needed to see the manager work.
#   bash scripts/demo.sh
set -euo pipefail
source "$(dirname "$0")/_env.sh"
cd "$ROOT"
python="$(find_python 3.11)"
venv_python="$(ensure_venv py3.11-pyside6 "$python" "PySide6-Essentials==6.5.3")"
cli="$(dirname "$venv_python")/lrc-batch-render"

demo="$(mktemp -d -t lrc-demo-XXXXXX)"
export LRC_PREFS_DIR="$demo/prefs" LRC_TEMP_ROOT="$demo/tmp"
export LRC_SIMULATE_GPUS=4 LRC_SIM_TIME_SCALE="${LRC_SIM_TIME_SCALE:-0.05}"
scene=lrc_toolbox/sim/scenes/shot010_lighting.ma

echo "== This machine as the manager sees it (4 simulated GPUs: LRC_SIMULATE_GPUS=4)"
"$cli" info
echo
echo "== Frame list '1-100x5' (a stepped range keeps its first and last frame)"
"$cli" frames "1-100x5"
echo
echo "== The layers of the sample scene"
"$cli" layers "$scene"
echo
echo "== A demo batch: every renderable layer, frames 1-24, one worker per free GPU"
"$cli" render --scene "$scene" --layers all --frames 1-24 --output "$demo/images" --simulate
echo "(it rendered in the local render service, which outlives the command:"
"$cli" service status
echo " it stops by itself when idle, or with 'lrc-batch-render service stop')"
echo
echo "== Written:"
find "$demo/images" -type f | sort | sed -n '1,4p;$p'
echo "($(find "$demo/images" -type f | wc -l) files in $demo/images)"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo
  echo "== The dashboard (simulated GPUs; close the window to finish)"
  "$venv_python" -m lrc_toolbox.ui
else
  echo
  echo "(no display: run 'python -m lrc_toolbox.ui' on a desktop to see the dashboard;"
  echo " docs/images/ has screenshots of it)"
fi
