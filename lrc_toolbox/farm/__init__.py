"""Send a planned batch to a render farm: Open Job Description / AWS Deadline Cloud job
bundles and Thinkbox Deadline 10 MayaBatch jobs (see ``docs/farm.md``).

Modules: :mod:`~lrc_toolbox.farm.frames` (explicit frame lists each engine reads exactly),
:mod:`~lrc_toolbox.farm.openjd` (job bundle), :mod:`~lrc_toolbox.farm.run_chunk` (what an
OpenJD task runs inside mayapy), :mod:`~lrc_toolbox.farm.deadline_cloud` (bundle + submit with
the optional ``deadline`` client), :mod:`~lrc_toolbox.farm.deadline10` (job/plugin info files,
``deadlinecommand``) and :mod:`~lrc_toolbox.farm.cli` (the ``export``/``submit`` commands).
Nothing here imports Qt, Maya or a farm client at import time.
"""

from __future__ import annotations
