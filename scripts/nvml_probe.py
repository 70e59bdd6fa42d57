"""Print what the system detector sees on this machine, as JSON, using the real NVML.

Run once on a real GPU machine (``python scripts/nvml_probe.py`` from the repository root)
to record genuine NVML output next to the fakes the unit tests use. Default settings are
used on purpose, so the user's preferences and ``LRC_*`` variables cannot change the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from lrc_toolbox.config.batch_render_defaults import Settings  # noqa: E402
from lrc_toolbox.core.system_detector import SystemDetector  # noqa: E402


def main() -> int:
    """Detect, print the JSON and exit 0: a missing GPU is a finding, not a failure."""
    info = SystemDetector(Settings()).detect()
    print(json.dumps(info.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
