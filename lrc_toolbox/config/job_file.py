"""JSON job files: one job, or several under ``"jobs"``, validated with the key path of any
mistake (``jobs[1].layers[2]: expected string, got 3``) and merged with command-line flags.

A job uses :class:`~lrc_toolbox.records.models.RenderConfig`'s field names. ``"layers"`` may
also be the string ``"all"`` (every renderable layer). An empty value is an error, never a
silent "everything" or "default": ``"layers": []``, ``"frames": ""``, ``"output_dir": ""``
and the like (leave the key out for the default). The file is read with limits
(:mod:`lrc_toolbox.config.json_input`: size, nesting depth, no NaN/Infinity). A file may
hold::

    {"scene": "shot010.ma", "layers": ["BG"], "frames": "1-24"}

or::

    {"version": 1,
     "defaults": {"output_dir": "/renders", "max_attempts": 2},
     "jobs": [{"scene": "sh010.ma", "frames": "1-24"},
              {"scene": "sh020.ma", "layers": ["CHAR"], "frames": "1-48x2"}]}

Values merge in this order, later wins: RenderConfig defaults < ``defaults`` < the job <
command-line flags. Relative scene and output paths are relative to the job file's folder.
The JSON Schema of this format is :func:`job_schema` (shipped as
``lrc_toolbox/config/job-config.schema.json`` and ``docs/job-config.schema.json``).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lrc_toolbox.config.json_input import JsonInputError, read_json
from lrc_toolbox.records.models import FrameOrder, RenderConfig, ValidationError

__all__ = [
    "JOB_FILE_VERSION",
    "SCHEMA_PATH",
    "JobFileError",
    "check_not_empty",
    "job_key_paths",
    "job_schema",
    "load_job_file",
    "merge_job",
    "write_schema",
]

JOB_FILE_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("job-config.schema.json")
_TOP_KEYS = ("version", "defaults", "jobs")
_PATH_KEYS = ("scene", "output_dir", "project")


class JobFileError(ValueError):
    """A job file that cannot be used; the message names the file and the key path."""


def _schema_type(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if args and type(None) in args:
        inner = next(a for a in args if a is not type(None))
        schema = _schema_type(inner)
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        return schema
    if origin is list:
        return {"type": "array", "items": _schema_type(args[0])}
    if isinstance(hint, type) and issubclass(hint, FrameOrder):
        return {"type": "string", "enum": [m.value for m in FrameOrder]}
    return {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
    }[hint]


_DESCRIPTIONS = {
    "scene": "Maya scene (.ma, or .mb with mayapy); relative to the job file",
    "layers": 'layer names, or "all" for every renderable layer (an empty list is an error)',
    "frames": 'frame list such as "1-24" or "1-100x5"; leave it out for each layer\'s own frames',
    "renderer": "render with this renderer instead of the scene's",
    "camera": "render this camera instead of the renderable ones",
    "output_dir": "output folder; relative to the job file",
    "image_prefix": "image file prefix with Maya tokens, e.g. <Scene>/<RenderLayer>",
    "gpus": "GPU indices to render on (default: every GPU not kept for Maya)",
    "processes_per_gpu": "workers per GPU (CPU mode: number of CPU workers)",
    "cpu_mode": "render on the CPU",
    "cpu_threads": "CPU threads per worker",
    "chunk_size": "frames handed to a worker at once",
    "frame_order": "sequential, or preview-first (first, last, middle, then fill in)",
    "max_attempts": "tries per frame before it is reported failed",
    "frame_timeout": "seconds without output before a worker is killed as hung",
    "skip_existing": "skip frames whose files already exist",
    "mayapy": "path of mayapy",
    "scene_name": "what <Scene> expands to in output paths (default: the scene file's name)",
    "project": "Maya project folder (default: the folder above the scene with workspace.mel)",
}


def job_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a job file, derived from RenderConfig."""
    hints = typing.get_type_hints(RenderConfig)
    properties: dict[str, Any] = {}
    for f in dataclasses.fields(RenderConfig):
        prop = _schema_type(hints[f.name])
        if f.name == "layers":
            prop = {"oneOf": [dict(prop, minItems=1), {"const": "all"}]}
        elif f.name in _NOT_EMPTY:
            prop["pattern"] = r"\S"  # an empty or blank value is an error
        if f.default is not dataclasses.MISSING:
            default = f.default.value if isinstance(f.default, FrameOrder) else f.default
            prop["default"] = default
        prop["description"] = _DESCRIPTIONS[f.name]
        properties[f.name] = prop
    job = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    partial = dict(job)
    required_job = dict(job, required=["scene"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://lrc-toolbox.invalid/schemas/job-config.schema.json",
        "title": "LRC Toolbox batch render job file",
        "oneOf": [
            required_job,
            {
                "type": "object",
                "properties": {
                    "version": {"const": JOB_FILE_VERSION},
                    "defaults": partial,
                    "jobs": {"type": "array", "items": job, "minItems": 1},
                },
                "required": ["jobs"],
                "additionalProperties": False,
            },
        ],
    }


def _with_path(exc: ValidationError, prefix: str) -> ValidationError:
    field = f"{prefix}.{exc.field}" if prefix and exc.field else (prefix or exc.field)
    return ValidationError(field, exc.message)


#: keys whose empty value used to mean "default" silently: the advice when one is empty
_NOT_EMPTY = {
    "scene": "name the .ma or .mb scene",
    "frames": 'give frames such as "1-24", or leave the key out to render each layer\'s '
    "own frame range",
    "renderer": "name a renderer, or leave the key out to use each layer's",
    "camera": "name a camera, or leave the key out to use the renderable ones",
    "output_dir": "name a folder, or leave the key out for <project>/images",
    "image_prefix": 'give a prefix such as "<Scene>/<RenderLayer>/<RenderLayer>", or '
    "leave the key out to use the scene's",
    "mayapy": "give the path of mayapy, or leave the key out to find it automatically",
    "scene_name": "give a name, or leave the key out to use the scene file's",
    "project": "name the Maya project folder, or leave the key out to find it above the scene",
}
_EMPTY_LAYERS = 'an empty layer list: name the layers, or write "all" for every renderable layer'


def check_not_empty(values: Mapping[str, Any], where: str = "") -> None:
    """Refuse values given empty (``"layers": []``, ``"frames": ""``, ...): each used to
    mean "everything" or "the default" without a word. Leaving the key out, or ``null``,
    still means the default.

    Raises:
        ValidationError: naming ``where`` + the key and what to write instead.
    """
    prefix = f"{where}." if where else ""
    layers = values.get("layers")
    if (isinstance(layers, list) and not layers) or (
        isinstance(layers, str) and not layers.strip()
    ):
        raise ValidationError(f"{prefix}layers", _EMPTY_LAYERS)
    for key, advice in _NOT_EMPTY.items():
        value = values.get(key)
        if isinstance(value, str) and not value.strip():
            raise ValidationError(f"{prefix}{key}", f"empty value: {advice}")


def _normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(data)
    if isinstance(values.get("layers"), str) and values["layers"].strip().lower() == "all":
        values["layers"] = []
    return values


def merge_job(*layers: Mapping[str, Any], where: str = "") -> RenderConfig:
    """Merge dicts of RenderConfig values (later wins) and validate the result.

    Raises:
        ValidationError: naming ``where`` + the key path.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(_normalise(layer))
    try:
        return RenderConfig.from_dict(merged).validate()
    except ValidationError as exc:
        raise _with_path(exc, where) from None


def _resolve_paths(job: dict[str, Any], base: Path) -> dict[str, Any]:
    for key in _PATH_KEYS:
        value = job.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            job[key] = str((base / value).resolve())
    return job


def load_job_file(
    path: str | Path,
    flags: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> list[RenderConfig]:
    """Read a job file into validated configs: ``base`` (e.g. the user's preferences) <
    the file's ``defaults`` < each job < ``flags`` (options given on the command line).

    Raises:
        JobFileError: a missing or non-JSON file, or any bad value, with the key path.
    """
    source = Path(path).expanduser()
    data = _read(source)
    if not isinstance(data, dict):
        raise JobFileError(f'{source}: expected a JSON object (one job, or {{"jobs": [...]}})')
    folder = source.resolve().parent
    flags = dict(flags or {})
    base = dict(base or {})
    try:
        if "jobs" in data:
            unknown = [k for k in data if k not in _TOP_KEYS]
            if unknown:
                import difflib

                close = difflib.get_close_matches(unknown[0], _TOP_KEYS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValidationError(unknown[0], f"unknown key{hint}")
            if data.get("version", JOB_FILE_VERSION) != JOB_FILE_VERSION:
                raise ValidationError(
                    "version",
                    f"this lrc_toolbox reads job files of version {JOB_FILE_VERSION}, "
                    f"got {data['version']!r}",
                )
            defaults = data.get("defaults", {})
            if not isinstance(defaults, dict):
                raise ValidationError("defaults", "expected object")
            jobs = data["jobs"]
            if not isinstance(jobs, list) or not jobs:
                raise ValidationError("jobs", "expected a non-empty list of jobs")
            configs = []
            for i, job in enumerate(jobs):
                if not isinstance(job, dict):
                    raise ValidationError(f"jobs[{i}]", "expected object")
                check_not_empty(defaults, "defaults")
                check_not_empty(job, f"jobs[{i}]")
                _check_partial(defaults, "defaults")
                merged = _resolve_paths({**_normalise(defaults), **_normalise(job)}, folder)
                configs.append(merge_job(base, merged, flags, where=f"jobs[{i}]"))
            return configs
        check_not_empty(data)
        return [merge_job(base, _resolve_paths(_normalise(data), folder), flags)]
    except ValidationError as exc:
        raise JobFileError(f"{source}: {exc}") from None


def _read(source: Path) -> Any:
    try:
        return read_json(source)
    except FileNotFoundError:
        raise JobFileError(f"job file not found: {source}") from None
    except OSError as exc:
        raise JobFileError(f"cannot read job file {source}: {exc.strerror or exc}") from None
    except JsonInputError as exc:
        raise JobFileError(f"{source} cannot be used as a job file: {exc}") from None
    except ValueError as exc:
        raise JobFileError(f"{source} is not valid JSON: {exc}") from None


def job_key_paths(path: str | Path, key: str) -> list[str | None]:
    """For each job of a (valid) job file, where ``key``'s value comes from:
    ``"jobs[1].image_prefix"``, ``"defaults.image_prefix"``, ``"image_prefix"`` (a
    one-job file), or None when the file does not set it. Lets a message name the key a
    bad value was written under.

    Raises:
        JobFileError: as :func:`load_job_file`.
    """
    data = _read(Path(path).expanduser())
    if not isinstance(data, dict):
        return []
    if "jobs" not in data:
        return [key if key in data else None]
    defaults = data.get("defaults")
    defaults = defaults if isinstance(defaults, dict) else {}
    jobs = data["jobs"] if isinstance(data["jobs"], list) else []
    return [
        f"jobs[{i}].{key}"
        if isinstance(job, dict) and key in job
        else (f"defaults.{key}" if key in defaults else None)
        for i, job in enumerate(jobs)
    ]


def _check_partial(values: Mapping[str, Any], where: str) -> None:
    """Type-check a partial job (``defaults`` need not name a scene)."""
    probe = {"scene": "x", **_normalise(values)}
    try:
        RenderConfig.from_dict(probe)
    except ValidationError as exc:
        raise _with_path(exc, where) from None


def write_schema(path: str | Path) -> Path:
    """Write :func:`job_schema` as pretty JSON (used to refresh the shipped copies)."""
    target = Path(path)
    target.write_text(json.dumps(job_schema(), indent=2) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":  # python -m lrc_toolbox.config.job_file: refresh shipped schemas
    root = Path(__file__).resolve().parents[2]
    for destination in (SCHEMA_PATH, root / "docs" / "job-config.schema.json"):
        print(write_schema(destination))
