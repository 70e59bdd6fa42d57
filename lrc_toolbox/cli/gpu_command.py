"""``lrc-batch-render gpu release|return BATCH_ID GPU``: give a GPU of a running batch back
to Maya mid-batch, and take it back later (issue 14).

The batch must render in the local render service (the default for ``render`` and
``resume``, and for the dashboard): a batch rendered with ``--foreground`` runs in its own
process, which no other command can reach, and is told apart with a clear message.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from lrc_toolbox.records.batch import ExitCode

if TYPE_CHECKING:
    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.records.service import Reply

__all__ = ["add_gpu_parser", "run_gpu_command"]


def add_gpu_parser(sub: Any) -> None:
    """``lrc-batch-render gpu release|return BATCH_ID GPU``."""
    gpu = sub.add_parser(
        "gpu",
        help="give a GPU of a running batch back to Maya, or take it back",
        description=(
            "Give a GPU of a batch rendering in the render service back to Maya while the "
            "batch goes on (its worker finishes its current frame, or abandons it with "
            "--abandon-frame, then exits; its frames go to the other GPUs), and take it "
            "back into the batch later. GPU is the index `lrc-batch-render info` lists."
        ),
    )
    actions = gpu.add_subparsers(dest="gpu_command", metavar="ACTION", required=True)
    release = actions.add_parser(
        "release",
        help="give GPU back to Maya: its worker exits after its current frame",
        description=(
            "Give GPU back to Maya: its worker finishes its current frame (or, with "
            "--abandon-frame, stops now and the frame goes back to the queue without "
            "costing it a try), then exits and frees the GPU. Its frames go to the other "
            "workers; a batch whose every GPU is given back waits with its frames pending."
        ),
    )
    back = actions.add_parser(
        "return",
        help="take a GPU given back to Maya into the batch again",
        description="Take GPU back into the batch: a fresh worker joins it and takes frames.",
    )
    for parser in (release, back):
        parser.add_argument(
            "batch_id", metavar="BATCH_ID", help="the batch (its first characters do)"
        )
        parser.add_argument("gpu", metavar="GPU", type=int, help="the GPU's index, e.g. 1")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
    release.add_argument(
        "--abandon-frame",
        action="store_true",
        help="stop the worker now; its frame goes back to the queue (no try is lost)",
    )


def run_gpu_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.cli.service_command import client_name, live_service, service_folder_problem
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.records.service import ErrorKind, Op
    from lrc_toolbox.service.client import ServiceClient, ServiceUnavailable

    loaded = load_settings()
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=err)
    settings = loaded.settings
    if args.gpu < 0:
        print(f"error: GPU is an index (0, 1, ...), got {args.gpu}", file=err)
        return int(ExitCode.BAD_INPUT)
    problem = service_folder_problem(settings)
    if problem is not None:
        print(f"error: {problem}", file=err)
        return int(ExitCode.ENVIRONMENT)
    info = live_service(settings)
    if info is None:
        return _not_in_service(settings, args.batch_id, None, err)
    releasing = args.gpu_command == "release"
    try:
        client = ServiceClient.attach(
            settings, simulate=info.simulate, client=client_name(), start=False
        )
        if client is None:
            return _not_in_service(settings, args.batch_id, None, err)
        try:
            if releasing:
                reply: Reply = client.request(
                    Op.RELEASE_GPU,
                    batch_id=args.batch_id,
                    gpu=args.gpu,
                    finish_frame=not args.abandon_frame,
                )
            else:
                reply = client.request(Op.RETURN_GPU, batch_id=args.batch_id, gpu=args.gpu)
            state = None if reply.ok else client.request(Op.STATUS).state
        finally:
            client.close()
    except ServiceUnavailable as exc:
        print(f"error: {exc}", file=err)
        return int(ExitCode.ENVIRONMENT)
    if not reply.ok:
        running = state is not None and any(
            b.status == "running" and b.batch_id.startswith(args.batch_id) for b in state.batches
        )
        if reply.error_kind is ErrorKind.BAD_REQUEST and not running:
            return _not_in_service(settings, args.batch_id, info.pid, err)
        print(f"error: {reply.error}", file=err)
        return int(reply.error_kind.exit_code)
    handback = reply.handback
    assert handback is not None, "a gpu reply carries its handback"
    if args.json:
        json.dump(handback.to_dict(), out)
        out.write("\n")
    else:
        out.write(handback.message + "\n")
    return int(ExitCode.OK)


def _batch_state(settings: Settings, batch_id: str) -> tuple[str, str] | None:
    """The stored batch's full id and state, or None when the store has no such batch
    (or cannot be read)."""
    from lrc_toolbox.core.job_store import JobStore, JobStoreError

    try:
        with JobStore(settings.job_store_path) as store:
            record = store.get_batch(batch_id)
    except (KeyError, JobStoreError):
        return None
    return record.id, record.state.value


def _not_in_service(settings: Settings, batch_id: str, service_pid: int | None, err: TextIO) -> int:
    """Say why the batch is not one the render service runs; returns the exit code."""
    where = (
        f"the render service (pid {service_pid}) does not run it"
        if service_pid is not None
        else f"no render service runs for {settings.resolved_temp_root()}"
    )
    found = _batch_state(settings, batch_id)
    if found is None:
        print(
            f"error: no batch {batch_id!r} in the job store ({where}); "
            "`lrc-batch-render history` lists the batches",
            file=err,
        )
        return int(ExitCode.BAD_INPUT)
    full, state = found
    if state == "running":
        print(
            f"error: batch {full} renders in a process of its own (`render --foreground`, "
            f"or a dashboard without the render service), not in the render service: {where}, "
            "so its GPUs cannot be given back from here; stop it and resume it through the "
            f"service (`lrc-batch-render resume {full}`) to give GPUs back mid-batch",
            file=err,
        )
        return int(ExitCode.BAD_INPUT)
    print(
        f"error: batch {full} is not rendering (it is {state}): GPUs are given back and "
        "taken back only while a batch renders",
        file=err,
    )
    return int(ExitCode.BAD_INPUT)
