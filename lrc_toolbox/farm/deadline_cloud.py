"""AWS Deadline Cloud: export a job bundle and submit it with the ``deadline`` client.

A Deadline Cloud job bundle is a folder with ``template.yaml`` (an Open Job Description
template), ``parameter_values.yaml`` and ``asset_references.yaml`` (AWS Deadline Cloud
developer guide, "Build a job bundle"; the layout AWS ``deadline-cloud-for-maya`` writes,
``job_bundle_output_tests/*/expected_job_bundle``). :func:`export_bundle` writes the OpenJD
bundle of :mod:`lrc_toolbox.farm.openjd` plus ``asset_references.yaml``: the scene (and any
file references the scene lists that exist) as inputs, the output folder as output, so job
attachments upload the scene and download the frames.

:func:`submit_to_deadline_cloud` calls ``deadline.client.api.create_job_from_job_bundle``
(``deadline`` 0.60.10, the client behind ``deadline bundle submit``) with a private copy of
the client's configuration in which ``defaults.farm_id``/``defaults.queue_id`` are set, so
the user's ``~/.deadline/config`` is read but never rewritten. That function reads the
template and parameters, asks the queue for its parameter definitions
(``deadline:ListQueueEnvironments``), hashes/uploads attachments when the queue has job
attachments, and calls ``deadline:CreateJob`` with ``farmId``, ``queueId``, ``template``,
``templateType``, ``priority``, ``parameters`` (``{"Name": {"path"|"string": value}}``) and
``maxRetriesPerTask``, then waits for ``GetJob`` to report ``CREATE_COMPLETE``.

The client is optional: ``pip install deadline==0.60.10`` (see ``docs/farm.md``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from configparser import ConfigParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrc_toolbox.farm.openjd import OpenJDOptions, dump_yaml, write_job_bundle

if TYPE_CHECKING:  # pragma: no cover
    from lrc_toolbox.core.batch_render_api import PlannedBatch

__all__ = [
    "DEADLINE_CLIENT_HINT",
    "DeadlineCloudError",
    "DeadlineCloudUnavailable",
    "asset_references",
    "export_bundle",
    "submit_to_deadline_cloud",
]

DEADLINE_CLIENT_HINT = "pip install deadline==0.60.10"
SUBMITTER_NAME = "LRC Toolbox"


class DeadlineCloudUnavailable(RuntimeError):
    """The ``deadline`` client is not installed, or has no usable AWS credentials."""


class DeadlineCloudError(RuntimeError):
    """Deadline Cloud refused or cancelled the submission (the message says why)."""


def asset_references(planned: PlannedBatch) -> dict[str, Any]:
    """``asset_references.yaml`` content: the scene (+ existing references) in, images out."""
    plan = planned.plan
    scene = str(Path(plan.config.scene).expanduser().resolve())
    inputs = [scene]
    for reference in planned.scene.references:
        path = Path(str(reference)).expanduser()
        if path.is_absolute() and path.is_file() and str(path) not in inputs:
            inputs.append(str(path))
    return {
        "assetReferences": {
            "inputs": {"directories": [], "filenames": inputs},
            "outputs": {"directories": [plan.output_dir]},
        }
    }


def export_bundle(
    planned: PlannedBatch,
    bundle_dir: str | os.PathLike[str],
    options: OpenJDOptions | None = None,
) -> Path:
    """Write a complete Deadline Cloud job bundle for a planned batch; returns its folder."""
    folder = write_job_bundle(planned.plan, bundle_dir, options)
    with open(folder / "asset_references.yaml", "w", encoding="utf-8", newline="\n") as handle:
        handle.write(dump_yaml(asset_references(planned)))
    return folder


def _client() -> tuple[Any, Any]:
    try:
        from deadline.client import api
        from deadline.client.config import config_file
    except ImportError as exc:
        raise DeadlineCloudUnavailable(
            f"the AWS Deadline Cloud client is not installed ({exc}): {DEADLINE_CLIENT_HINT}"
        ) from exc
    return api, config_file


def submit_to_deadline_cloud(
    bundle_dir: str | os.PathLike[str],
    farm_id: str,
    queue_id: str,
    *,
    priority: int | None = None,
    job_name: str | None = None,
    auto_accept: bool = False,
    print_function: Callable[[str], None] = print,
) -> str:
    """Submit a job bundle to a Deadline Cloud queue; returns the job id.

    ``auto_accept``: answer yes when the client asks to confirm (e.g. uploading files from
    locations its storage profile does not know); otherwise its default answer is taken.

    Raises:
        DeadlineCloudUnavailable: the client is missing, or no AWS credentials were found.
        DeadlineCloudError: the service or the client refused or cancelled the submission.
    """
    if not farm_id.strip() or not queue_id.strip():
        raise ValueError("give both the farm id (farm-...) and the queue id (queue-...)")
    api, config_file = _client()
    from deadline.client import exceptions as client_errors

    base = config_file.read_config()
    config = ConfigParser()
    config.read_dict({section: dict(base[section]) for section in base.sections()})
    config_file.set_setting("defaults.farm_id", farm_id, config=config)
    config_file.set_setting("defaults.queue_id", queue_id, config=config)

    def confirm(message: str, default: bool) -> bool:
        print_function(message)
        return True if auto_accept else default

    # botocore comes with the deadline client
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        job_id = api.create_job_from_job_bundle(
            str(bundle_dir),
            config=config,
            name=job_name,
            priority=priority,
            submitter_name=SUBMITTER_NAME,
            print_function_callback=print_function,
            interactive_confirmation_callback=confirm,
        )
    except NoCredentialsError as exc:
        raise DeadlineCloudUnavailable(
            f"no AWS credentials for Deadline Cloud ({exc}): sign in with Deadline Cloud "
            "monitor or 'deadline auth login', or configure an AWS profile"
        ) from exc
    except (client_errors.DeadlineOperationError, ClientError, BotoCoreError) as exc:
        raise DeadlineCloudError(f"Deadline Cloud did not create the job: {exc}") from exc
    if not job_id:
        raise DeadlineCloudError("the Deadline Cloud client returned no job id")
    return str(job_id)
