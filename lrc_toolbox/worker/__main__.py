"""``mayapy -m lrc_toolbox.worker --scene SNAPSHOT``: see :mod:`lrc_toolbox.worker.session`."""

from __future__ import annotations

import signal
import sys

# First, before anything slow is imported: a Ctrl-C sent to the whole process group must
# not print a KeyboardInterrupt traceback from a worker that is still starting. The
# manager stops its workers itself (session.ignore_interrupts says why).
signal.signal(signal.SIGINT, signal.SIG_IGN)

from lrc_toolbox.worker.session import main  # noqa: E402 - after SIGINT is ignored

sys.exit(main())
