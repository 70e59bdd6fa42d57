"""The render options shared by ``render`` and the farm commands (``export``, ``submit``):
declared once, merged once (preferences < job file < flags), so a batch planned for the
farm is the batch ``render`` would run."""

from __future__ import annotations

import argparse
from typing import Any

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.config.job_file import check_not_empty, job_key_paths, load_job_file, merge_job
from lrc_toolbox.records.frame_parser import FrameRangeError, parse_frames
from lrc_toolbox.records.models import RenderConfig, ValidationError

__all__ = ["OptionError", "add_render_options", "configs_from_args", "value_source"]


class OptionError(ValidationError):
    """A bad command-line option; ``field`` is the option as typed (``--frames``)."""


def _gpu_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"GPU indices separated by commas, like '1,2' (see 'lrc-batch-render info'), "
            f"not {text!r}"
        ) from None


#: the option of each RenderConfig field whose option name differs from the field's
_OPTION_NAMES = {
    "output_dir": "--output",
    "cpu_mode": "--cpu",
    "cpu_threads": "--threads",
    "frame_order": "--order",
}


def option_name(field: str) -> str:
    """``output_dir`` -> ``--output``: the option that sets a RenderConfig field."""
    return _OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def _layer_list(text: str) -> list[str]:
    """``--layers``: names separated by commas, or ``all``. Empty (``""``, ``","``) is an
    error, as is an empty name between commas: neither means "every layer"."""
    if not text.strip():
        raise OptionError(
            "--layers",
            "empty layer list: name the layers (e.g. BG,CHAR), or 'all' for every renderable layer",
        )
    if text.strip().lower() == "all":
        return []
    names = [name.strip() for name in text.split(",")]
    for i, name in enumerate(names, start=1):
        if not name:
            raise OptionError(
                "--layers",
                f"{text!r}: name {i} of {len(names)} is empty; separate layer names with "
                "single commas (e.g. BG,CHAR), or write 'all' for every renderable layer",
            )
    return names


def add_render_options(parser: argparse._ActionsContainer) -> None:
    """The options of one batch (``RenderConfig``'s fields, and ``--config``), shared by
    ``render``, ``export`` and ``submit``. Each defaults to 'not given', so that the user's
    preferences and a job file's values survive unless the flag is on the command line
    (preferences < job file < flags; see :func:`configs_from_args`)."""
    s = argparse.SUPPRESS
    parser.add_argument(
        "--config",
        metavar="JOB.json",
        help="JSON job file (one job, or several under 'jobs'); flags override its values",
    )
    parser.add_argument("--scene", default=s, help="the Maya scene (.ma, or .mb with mayapy)")
    parser.add_argument(
        "--layers",
        default=s,
        help="layer names, comma separated, or 'all' for every renderable layer (default)",
    )
    parser.add_argument(
        "--frames", default=s, help="frame list, e.g. '1-24' or '1-100x5' (default: the scene's)"
    )
    parser.add_argument(
        "--output", dest="output_dir", default=s, help="output folder (default: <project>/images)"
    )
    parser.add_argument("--renderer", default=s, help="render with this renderer, not the scene's")
    parser.add_argument(
        "--camera", default=s, help="render this camera instead of the renderable ones"
    )
    parser.add_argument(
        "--image-prefix", default=s, help="image file prefix, e.g. '<Scene>/<RenderLayer>'"
    )
    devices = parser.add_mutually_exclusive_group()
    devices.add_argument(
        "--gpus",
        type=_gpu_list,
        default=s,
        help="GPU indices to render on, e.g. '1,2' (default: every GPU not kept for Maya)",
    )
    devices.add_argument(
        "--cpu", dest="cpu_mode", action="store_true", default=s, help="render on the CPU"
    )
    parser.add_argument(
        "--threads", dest="cpu_threads", type=int, default=s, help="CPU threads per worker"
    )
    parser.add_argument(
        "--processes-per-gpu", type=int, default=s, metavar="N", help="workers per GPU (default 1)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=s, metavar="N", help="frames per hand-out (default 1)"
    )
    parser.add_argument(
        "--order",
        dest="frame_order",
        choices=("sequential", "preview-first"),
        default=s,
        help="frame order: sequential (default) or preview-first (first, last, middle, ...)",
    )
    parser.add_argument(
        "--max-attempts", type=int, default=s, metavar="N", help="tries per frame (default 3)"
    )
    parser.add_argument(
        "--frame-timeout",
        type=float,
        default=s,
        metavar="SECONDS",
        help="kill a worker that prints nothing for this long (default 1800)",
    )
    parser.add_argument(
        "--skip-existing", action="store_true", default=s, help="skip frames already on disk"
    )
    parser.add_argument("--mayapy", default=s, help="path of mayapy (default: found automatically)")
    parser.add_argument(
        "--scene-name",
        default=s,
        help="what <Scene> expands to in file names (default: the scene file's name)",
    )
    parser.add_argument(
        "--project", default=s, help="Maya project folder (default: found above the scene)"
    )


_CONFIG_FIELDS = (
    "scene", "layers", "frames", "renderer", "camera", "output_dir", "image_prefix", "gpus",
    "processes_per_gpu", "cpu_mode", "cpu_threads", "chunk_size", "frame_order", "max_attempts",
    "frame_timeout", "skip_existing", "mayapy", "scene_name", "project",
)  # fmt: skip


def _settings_defaults(settings: Settings) -> dict[str, object]:
    """The user's preferences as the lowest layer of a job's values."""
    values: dict[str, object] = {
        "processes_per_gpu": settings.processes_per_gpu,
        "chunk_size": settings.chunk_size,
        "frame_order": settings.frame_order.value,
        "max_attempts": settings.max_attempts,
        "frame_timeout": settings.frame_timeout,
    }
    if settings.mayapy:
        values["mayapy"] = settings.mayapy
    return values


def _checked_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The render options given on the command line, each checked on its own so that a
    mistake names the option (``--frames``), not a field of the merged job."""
    flags: dict[str, Any] = {
        key: getattr(args, key) for key in _CONFIG_FIELDS if hasattr(args, key)
    }
    if "layers" in flags:
        flags["layers"] = _layer_list(flags["layers"])
    try:  # --layers was checked above ('all' is [] by now)
        check_not_empty({key: value for key, value in flags.items() if key != "layers"})
    except ValidationError as exc:
        message = exc.message.replace("the key", "the option")
        raise OptionError(option_name(exc.field), message) from None
    if "frames" in flags:
        try:
            parse_frames(flags["frames"])
        except FrameRangeError as exc:
            raise OptionError("--frames", f"{exc}: {exc.text!r}") from None
    try:
        RenderConfig.from_dict({"scene": "-", **flags}).validate()
    except ValidationError as exc:
        field = exc.field.split("[")[0].split(".")[0]
        if field in flags:
            raise OptionError(option_name(field), exc.message) from None
    return flags


def value_source(args: argparse.Namespace, field: str, job: int = 0) -> str | None:
    """Where the value of ``field`` in job ``job`` of a render command came from, for a
    message: ``--image-prefix``, ``<job file>: jobs[1].image_prefix``, or None (neither:
    a preference or a default)."""
    if hasattr(args, field):
        return option_name(field)
    if getattr(args, "config", None):
        try:
            keys = job_key_paths(args.config, field)
        except ValueError:
            return None
        key = keys[job] if job < len(keys) else None
        return f"{args.config}: {key}" if key else None
    return None


def configs_from_args(args: argparse.Namespace, settings: Settings) -> list[RenderConfig]:
    """The validated RenderConfigs of a render command: preferences < job file < flags.

    Raises:
        ValueError: (JobFileError / ValidationError) with the key path, or an
            :class:`OptionError` naming the option; the caller exits 2.
    """
    flags = _checked_flags(args)
    base = _settings_defaults(settings)
    if args.config:
        return list(load_job_file(args.config, flags, base))
    if "scene" not in flags:
        raise ValidationError("scene", "no scene given: use --scene SCENE or --config JOB.json")
    return [merge_job(base, flags)]
