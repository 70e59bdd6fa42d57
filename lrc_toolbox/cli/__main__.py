"""``python -m lrc_toolbox.cli`` runs the same command line as ``lrc-batch-render``."""

from __future__ import annotations

import sys

from lrc_toolbox.cli.batch_render_cli import main

sys.exit(main())
