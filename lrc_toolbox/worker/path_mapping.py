"""Apply an Open Job Description session's path mapping rules inside Maya with ``dirmap``.

On a farm worker the scene's own paths (file references, textures, caches) still name the
submitting machine's folders. OpenJD writes the session's rules to
``{{Session.PathMappingRulesFile}}`` (openjd-sessions ``_materialize_path_mapping``: JSON
``{"version": "pathmapping-1.0", "path_mapping_rules": [{"source_path_format": "POSIX" |
"WINDOWS", "source_path": ..., "destination_path": ...}]}``, or ``{}`` when the session has
none). :func:`apply_path_mapping` enables Maya's directory mapping and maps each source
folder to its destination BEFORE the scene is opened, so references and textures resolve
on the worker (Autodesk ``dirmap`` reference: mapping is off when Maya starts; directories
are absolute, with forward slashes; case-sensitive on every platform).
"""

from __future__ import annotations

import json
from typing import Any

PATH_MAPPING_VERSION = "pathmapping-1.0"


class PathMappingError(ValueError):
    """The rules file cannot be read (the message says which file and why)."""


def read_rules(path: str) -> list[tuple[str, str]]:
    """``[(source, destination), ...]`` with forward slashes, from an OpenJD rules file.

    Raises:
        PathMappingError: the file is missing, not JSON, or not ``pathmapping-1.0``.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise PathMappingError(f"cannot read the path mapping rules file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PathMappingError(f"the path mapping rules file {path} is not a JSON object")
    if not data:
        return []  # the session has no rules
    if data.get("version") != PATH_MAPPING_VERSION:
        raise PathMappingError(
            f"the path mapping rules file {path} has version {data.get('version')!r}; "
            f"expected {PATH_MAPPING_VERSION!r}"
        )
    rules = data.get("path_mapping_rules")
    if not isinstance(rules, list):
        raise PathMappingError(f"the path mapping rules file {path} has no rule list")
    pairs: list[tuple[str, str]] = []
    for rule in rules:
        try:
            source = str(rule["source_path"])
            destination = str(rule["destination_path"])
        except (KeyError, TypeError) as exc:
            raise PathMappingError(f"a rule in {path} lacks {exc}") from exc
        pairs.append((_forward(source), _forward(destination)))
    return pairs


def _forward(path: str) -> str:
    # dirmap wants forward slashes; a WINDOWS source "C:\\proj" is "C:/proj" inside Maya
    text = path.replace("\\", "/")
    return text.rstrip("/") if len(text) > 1 else text


def apply_path_mapping(cmds: Any, path: str) -> list[tuple[str, str]]:
    """Enable ``dirmap`` and map every rule of the rules file at ``path``; returns the rules.

    Raises:
        PathMappingError: see :func:`read_rules`.
    """
    rules = read_rules(path)
    if not rules:
        return rules
    cmds.dirmap(enable=True)
    for source, destination in rules:
        cmds.dirmap(mapDirectory=(source, destination))
    return rules
