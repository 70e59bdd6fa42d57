"""What a farm hand-off did, as it crosses a boundary (the dashboard's worker thread to its
window, a script): :class:`FarmResult`, with :class:`FarmTarget` and :class:`ExportFormat`.

Standard library only, like every record module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lrc_toolbox.records.models import JsonModel

__all__ = ["ExportFormat", "FarmResult", "FarmTarget"]


class FarmTarget(str, enum.Enum):
    """Where a batch goes: a Deadline Cloud queue, a Deadline 10 repository, or files only."""

    DEADLINE_CLOUD = "deadline-cloud"
    DEADLINE10 = "deadline10"
    EXPORT = "export"


class ExportFormat(str, enum.Enum):
    """What an export writes: an Open Job Description bundle (Deadline Cloud can submit
    it with ``deadline bundle submit``) or Deadline 10 job and plugin info files."""

    OPENJD = "openjd"
    DEADLINE10 = "deadline10"


@dataclass
class FarmResult(JsonModel):
    """A farm hand-off that worked.

    Attributes:
        target: where the batch went.
        export_format: what was written (for an export; the files a submission wrote too).
        folder: the folder holding the written files ("" when they were temporary).
        files: the files written there (absolute paths), in the order written.
        job_ids: the farm's job ids (Deadline 10: one per layer, in ``layers`` order;
            Deadline Cloud: one); empty for an export.
        layers: the layers sent, in order.
        warnings: what the user should know (a setting the farm ignores, the client's notes).
    """

    target: FarmTarget
    export_format: ExportFormat = ExportFormat.OPENJD
    folder: str = ""
    files: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One sentence for the user: what was written or submitted."""
        count = len(self.layers)
        layers = f"{count} layer{'s' if count != 1 else ''}"
        if self.target is FarmTarget.DEADLINE_CLOUD:
            return f"Submitted to Deadline Cloud: job {', '.join(self.job_ids)} ({layers})."
        if self.target is FarmTarget.DEADLINE10:
            pairs = zip(self.layers, self.job_ids, strict=False)
            ids = ", ".join(f"layer {layer}: job {job}" for layer, job in pairs)
            return f"Submitted to Deadline 10: {ids}."
        if self.export_format is ExportFormat.DEADLINE10:
            return f"Wrote Deadline 10 job and plugin files ({layers}) to {self.folder}"
        return f"Wrote the job bundle ({layers}) to {self.folder}"
