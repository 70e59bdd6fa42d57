"""Inside the interactive Maya session: one of the two doors to Maya (with ``worker/``).

- :mod:`.scene`: the open scene as a scene source, snapshots that leave it untouched, and
  :class:`~lrc_toolbox.maya_host.scene.LiveSessionBatchAPI` (renders the live session).
- :mod:`.ui`: Maya's main window, the docked dashboard, the session's one API.
- :mod:`.startup`: menu, shelf button and quit handler, run from ``userSetup.py``.

Importing this package imports neither Maya nor Qt; the submodules import ``maya`` only
inside the functions that talk to it, so they load (and are tested) with stand-ins.
"""

from __future__ import annotations
