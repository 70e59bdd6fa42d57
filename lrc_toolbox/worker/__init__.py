"""The render worker that runs INSIDE mayapy (``mayapy -m lrc_toolbox.worker``).

This package and :mod:`lrc_toolbox.maya_host` are the only places that import ``maya``;
imports happen inside functions so the package itself imports anywhere.
"""

from __future__ import annotations
