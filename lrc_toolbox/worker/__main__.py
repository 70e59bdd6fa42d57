"""``mayapy -m lrc_toolbox.worker --scene SNAPSHOT``: see :mod:`lrc_toolbox.worker.session`."""

from __future__ import annotations

import sys

from lrc_toolbox.worker.session import main

sys.exit(main())
