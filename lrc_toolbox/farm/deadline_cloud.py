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
the client's configuration, so the user's ``~/.deadline/config`` is read but never
rewritten. What it adds to a plain ``deadline bundle submit`` (all read from the client's
source, ``deadline/client/api/_submit_job_bundle.py`` and ``cli/_groups/bundle_group.py``):

- **Farm and queue.** Given ids win; otherwise ``defaults.farm_id`` / ``defaults.queue_id``
  of ``deadline config`` (``config_file.get_setting``), as ``deadline bundle submit`` does.
  Neither: a :class:`DeadlineCloudSetupError` that says how to set them. The storage
  profile is the configuration's ``settings.storage_profile_id`` (the client reads it).
- **Job attachments approval.** With a job-attachments queue the client lists the folders
  it will upload and, when some are outside the storage profile's LOCAL locations and the
  known asset paths, asks ``interactive_confirmation_callback(message, default=False)``.
  Without a callback it cancels; with ``settings.auto_accept`` (what ``deadline bundle
  submit --yes`` sets, ``cli/_common.py``) it cancels too when paths are unknown ("settings.
  auto_accept enabled and there were unknown paths"). Here the private configuration turns
  ``settings.auto_accept`` off, and the question is answered by ``approve_attachments``
  (yes), else by ``ask`` (a terminal or dashboard question), else it is refused with a
  :class:`AttachmentApprovalNeeded` that shows what would be uploaded and how to approve —
  never a silent "no" that the client reports as "Operation canceled by user". Folders the
  user named for this batch (the scene's, the Maya project, the output folder) are passed
  as ``known_asset_paths`` (:func:`known_asset_paths`); anything else the bundle lists (a
  reference or texture elsewhere) needs approval.
- **Chunk cap.** ``chunks.defaultTaskCount`` may be at most 150 (AWS Deadline Cloud
  developer guide, "CHUNK[INT] task parameter reference": "The maximum value is 150"); a
  bundle over it is refused before anything is uploaded (:func:`check_chunk_sizes`).

The client then reads the template and parameters, merges the queue environments'
parameters (``ListQueueEnvironments`` / ``GetQueueEnvironment``: a conda queue
environment's ``CondaPackages`` / ``CondaChannels``), hashes and uploads attachments to the
queue's S3 bucket, and calls ``deadline:CreateJob``, then waits for ``GetJob`` to report
``CREATE_COMPLETE``.

The client is optional: ``pip install deadline==0.60.10`` (see ``docs/farm.md``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from configparser import ConfigParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrc_toolbox.farm.openjd import (
    OpenJDOptions,
    build_asset_references,
    dump_yaml,
    write_job_bundle,
)

if TYPE_CHECKING:  # pragma: no cover
    from lrc_toolbox.core.batch_planner import PlannedBatch

__all__ = [
    "DEADLINE_CLIENT_HINT",
    "MAX_CHUNK_FRAMES",
    "AttachmentApprovalNeeded",
    "DeadlineCloudError",
    "DeadlineCloudSetupError",
    "DeadlineCloudUnavailable",
    "asset_references",
    "check_chunk_sizes",
    "export_bundle",
    "known_asset_paths",
    "resolve_farm_and_queue",
    "submit_to_deadline_cloud",
]

DEADLINE_CLIENT_HINT = "pip install deadline==0.60.10"
SUBMITTER_NAME = "LRC Toolbox"
#: Deadline Cloud's limit on ``chunks.defaultTaskCount`` (frames per task)
MAX_CHUNK_FRAMES = 150
#: how the client's job attachments question begins (``_generate_message_for_asset_paths``)
_ATTACHMENTS_QUESTION = "Approval for Job Attachment S3 transfers needed."


class DeadlineCloudUnavailable(RuntimeError):
    """The ``deadline`` client is not installed, or has no usable AWS credentials."""


class DeadlineCloudError(RuntimeError):
    """Deadline Cloud refused or cancelled the submission (the message says why)."""


class DeadlineCloudSetupError(ValueError):
    """Bad input for a submission: no farm or queue, or chunks over the service's limit."""


class AttachmentApprovalNeeded(DeadlineCloudError, ValueError):
    """Job attachments would upload files from unknown folders and nobody approved it.

    Bad input (exit code 2: approve and run again), hence also a ``ValueError``.
    ``details`` is the client's own listing of what would be uploaded.
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


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


def known_asset_paths(planned: PlannedBatch) -> list[str]:
    """Folders the user named for this batch: the scene's, the Maya project and the output.

    Passed to the client as ``known_asset_paths``: the client treats paths given by the
    caller as known and paths found in the bundle's ``asset_references`` as unknown until
    approved (its comment in ``create_job_from_job_bundle``). So the scene the user chose
    needs no approval; references and textures collected from the scene that live
    elsewhere (outside these folders and the storage profile) do.
    """
    plan = planned.plan
    scene_folder = str(Path(plan.config.scene).expanduser().resolve().parent)
    folders = [scene_folder, plan.project, plan.output_dir]
    known = [str(Path(f).expanduser().resolve()) for f in folders if f]
    return list(dict.fromkeys(known))


def export_bundle(
    planned: PlannedBatch,
    bundle_dir: str | os.PathLike[str],
    options: OpenJDOptions | None = None,
) -> Path:
    """Write a complete Deadline Cloud job bundle for a planned batch; returns its folder."""
    # the bundle's own asset references (openjd.build_asset_references: the scene, its
    # references, file textures and caches), plus the references the planner saw (a .mb
    # scene, which that .ma reader cannot read)
    folder = write_job_bundle(planned.plan, bundle_dir, options)
    collected = build_asset_references(planned.plan)
    inputs = collected.setdefault("assetReferences", {}).setdefault("inputs", {})
    filenames: list[str] = inputs.setdefault("filenames", [])
    for extra in asset_references(planned)["assetReferences"]["inputs"]["filenames"]:
        if extra not in filenames:
            filenames.append(extra)
    with open(folder / "asset_references.yaml", "w", encoding="utf-8", newline="\n") as handle:
        handle.write(dump_yaml(collected))
    return folder


def check_chunk_sizes(bundle_dir: str | os.PathLike[str]) -> None:
    """Refuse a bundle whose chunks hold more frames than Deadline Cloud allows.

    Raises:
        DeadlineCloudSetupError: a step's ``chunks.defaultTaskCount`` is over
            :data:`MAX_CHUNK_FRAMES` (the message names the step and the limit).
    """
    import yaml  # the deadline client depends on PyYAML

    path = Path(bundle_dir) / "template.yaml"
    try:
        template = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DeadlineCloudSetupError(f"cannot read the job template {path}: {exc}") from exc
    for step in template.get("steps", []) if isinstance(template, dict) else []:
        space = step.get("parameterSpace") or {}
        for parameter in space.get("taskParameterDefinitions", []):
            count = (parameter.get("chunks") or {}).get("defaultTaskCount")
            if isinstance(count, int) and count > MAX_CHUNK_FRAMES:
                raise DeadlineCloudSetupError(
                    f"step {step.get('name')!r}: {count} frames per task is over AWS Deadline "
                    f"Cloud's limit of {MAX_CHUNK_FRAMES} frames per task (chunks."
                    f"defaultTaskCount); use --chunk-size {MAX_CHUNK_FRAMES} or less"
                )


def _client() -> tuple[Any, Any]:
    try:
        from deadline.client import api
        from deadline.client.config import config_file
    except ImportError as exc:
        raise DeadlineCloudUnavailable(
            f"the AWS Deadline Cloud client is not installed ({exc}): {DEADLINE_CLIENT_HINT}"
        ) from exc
    return api, config_file


def _private_config(config_file: Any) -> ConfigParser:
    """A copy of the user's ``deadline config`` to change for one submission (never saved)."""
    base = config_file.read_config()
    config = ConfigParser()
    config.read_dict({section: dict(base[section]) for section in base.sections()})
    return config


def resolve_farm_and_queue(
    farm_id: str | None = None, queue_id: str | None = None
) -> tuple[str, str]:
    """The farm and queue to submit to: the given ids, else ``deadline config``'s defaults.

    Raises:
        DeadlineCloudUnavailable: the client is not installed (it holds the configuration).
        DeadlineCloudSetupError: neither given nor configured (the message says how to set
            them).
    """
    _, config_file = _client()
    config = _private_config(config_file)
    farm = (farm_id or "").strip() or str(
        config_file.get_setting("defaults.farm_id", config=config)
    )
    if farm:  # the configuration keeps a default queue per farm
        config_file.set_setting("defaults.farm_id", farm, config=config)
    queue = (queue_id or "").strip() or str(
        config_file.get_setting("defaults.queue_id", config=config)
    )
    missing = [
        (label, setting, flag)
        for label, value, setting, flag in (
            ("farm", farm, "defaults.farm_id farm-...", "--farm-id"),
            ("queue", queue, "defaults.queue_id queue-...", "--queue-id"),
        )
        if not value.strip()
    ]
    if missing:
        names = " and ".join(label for label, _, _ in missing)
        how = "; ".join(
            f"set it with `deadline config set {setting}` or pass {flag}"
            for _, setting, flag in missing
        )
        raise DeadlineCloudSetupError(f"no Deadline Cloud {names} chosen: {how}")
    return farm.strip(), queue.strip()


def _approval_refused(details: str) -> AttachmentApprovalNeeded:
    return AttachmentApprovalNeeded(
        "Deadline Cloud job attachments would upload files from folders outside the queue's "
        "storage profile and the batch's scene/project/output folders, and nobody approved "
        "it. "
        "Nothing was submitted. What the client would upload:\n"
        f"{details.rstrip()}\n"
        "To approve: pass --yes (--approve-attachments), or answer yes when asked (a "
        "terminal, or the dashboard's question). To avoid the question: add the folders "
        "to the queue's storage profile as LOCAL locations, or to "
        "`deadline config set settings.known_asset_paths <folders>`.",
        details,
    )


def submit_to_deadline_cloud(
    bundle_dir: str | os.PathLike[str],
    farm_id: str | None = None,
    queue_id: str | None = None,
    *,
    priority: int | None = None,
    job_name: str | None = None,
    approve_attachments: bool = False,
    ask: Callable[[str], bool] | None = None,
    known_paths: Sequence[str] = (),
    auto_accept: bool = False,
    print_function: Callable[[str], None] = print,
) -> str:
    """Submit a job bundle to a Deadline Cloud queue; returns the job id.

    Args:
        farm_id, queue_id: default ``deadline config``'s ``defaults.farm_id`` /
            ``defaults.queue_id`` (:func:`resolve_farm_and_queue`).
        approve_attachments: approve uploads from folders outside the storage profile (the
            CLI's ``--yes``). ``auto_accept`` is the older name of the same choice.
        ask: asked with the client's listing when approval is needed and not given;
            returns True to upload and submit. None: refuse (:class:`AttachmentApprovalNeeded`).
        known_paths: folders whose files need no approval (:func:`known_asset_paths`).

    Raises:
        DeadlineCloudUnavailable: the client is missing, or no AWS credentials were found.
        DeadlineCloudSetupError: no farm/queue, or chunks over :data:`MAX_CHUNK_FRAMES`.
        AttachmentApprovalNeeded: uploads need approval and none was given.
        DeadlineCloudError: the service or the client refused or cancelled the submission.
    """
    farm, queue = resolve_farm_and_queue(farm_id, queue_id)
    check_chunk_sizes(bundle_dir)
    api, config_file = _client()
    from deadline.client import exceptions as client_errors

    config = _private_config(config_file)
    config_file.set_setting("defaults.farm_id", farm, config=config)
    config_file.set_setting("defaults.queue_id", queue, config=config)
    # the approval is ours to give (see the module docstring)
    config_file.set_setting("settings.auto_accept", "false", config=config)
    approved = approve_attachments or auto_accept
    refused: list[AttachmentApprovalNeeded] = []

    def confirm(message: str, default: bool) -> bool:
        only_known_uploads = default and message.lstrip().startswith(_ATTACHMENTS_QUESTION)
        if approved or only_known_uploads:
            print_function(message)
            return True
        if ask is not None:
            return bool(ask(message))
        refused.append(_approval_refused(message))
        raise refused[-1]

    # botocore comes with the deadline client
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        job_id = api.create_job_from_job_bundle(
            str(bundle_dir),
            config=config,
            name=job_name,
            priority=priority,
            submitter_name=SUBMITTER_NAME,
            known_asset_paths=list(known_paths),
            print_function_callback=print_function,
            interactive_confirmation_callback=confirm,
        )
    except AttachmentApprovalNeeded:
        raise
    except NoCredentialsError as exc:
        raise DeadlineCloudUnavailable(
            f"no AWS credentials for Deadline Cloud ({exc}): sign in with Deadline Cloud "
            "monitor or 'deadline auth login', or configure an AWS profile"
        ) from exc
    except client_errors.DeadlineOperationCanceled as exc:
        if refused:  # raised inside the client's callback and wrapped on the way out
            raise refused[-1] from exc
        raise DeadlineCloudError(
            f"the submission was cancelled ({exc}): the upload was declined; nothing was submitted"
        ) from exc
    except (client_errors.DeadlineOperationError, ClientError, BotoCoreError) as exc:
        raise DeadlineCloudError(f"Deadline Cloud did not create the job: {exc}") from exc
    if not job_id:
        raise DeadlineCloudError("the Deadline Cloud client returned no job id")
    return str(job_id)
