"""Plain-data description of what a Maya scene renders, per render layer.

Two producers build it: :func:`lrc_toolbox.scene.ma_reader.read_ma` (a Maya ASCII file,
without Maya) and the mayapy ``--describe`` path (any scene, inside Maya), which prints
:meth:`SceneDescription.to_dict` as JSON for the manager to read back with
:meth:`SceneDescription.from_dict`. Everything here is JSON-safe and free of Qt and Maya.

Frame lists travel as compact text (``"1-10,12,20-30x2"``) written by
:func:`lrc_toolbox.records.frame_parser.format_frames`, the same syntax users type.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lrc_toolbox.records.frame_parser import (
    MAX_FRAMES,
    FrameRangeError,
    format_frames,
    parse_frames,
)
from lrc_toolbox.records.models import ValidationError
from lrc_toolbox.records.renderers import MAYA_DEFAULT_RENDERER

__all__ = [
    "DEFAULT_RENDERER",
    "DEFAULT_RESOLUTION",
    "MASTER_LAYER",
    "MASTER_NODE",
    "MAX_WARNINGS",
    "MAX_WARNINGS_CHARS",
    "MAX_WARNING_CHARS",
    "ArnoldAov",
    "LayerDescription",
    "SceneDescription",
    "bounded_warnings",
    "render_frames",
    "shorten_warning",
]

#: Display name Maya gives the master layer (MEL ``renderLayerDisplayName``).
MASTER_LAYER = "masterLayer"
#: The master layer's node.
MASTER_NODE = "defaultRenderLayer"
#: ``defaultRenderGlobals.currentRenderer`` when a file does not set it.
DEFAULT_RENDERER = MAYA_DEFAULT_RENDERER
#: ``defaultResolution`` width/height when a file does not set them.
DEFAULT_RESOLUTION = (640, 480)

#: Warnings kept in a description; the rest are counted in a final "... and N more".
MAX_WARNINGS = 50
#: Longest single warning kept; a longer one (a damaged file can put megabytes of junk
#: into a name) is cut, saying how much was cut.
MAX_WARNING_CHARS = 500
#: Most characters of all kept warnings together.
MAX_WARNINGS_CHARS = 16 * 1024


def shorten_warning(text: str, limit: int = MAX_WARNING_CHARS) -> str:
    """``text``, or its start and how many characters were cut when it is too long."""
    if len(text) <= limit:
        return text
    keep = max(1, limit - 40)
    return f"{text[:keep]}... ({len(text) - keep:,} more characters)"


def bounded_warnings(warnings: Iterable[str], dropped: int = 0) -> list[str]:
    """Warnings as a description keeps them: each once, each at most
    :data:`MAX_WARNING_CHARS`, at most :data:`MAX_WARNINGS` of them and
    :data:`MAX_WARNINGS_CHARS` together, then one line saying how many were left out
    (``dropped`` counts those the caller did not even store)."""
    kept: list[str] = []
    total = 0
    extra = dropped
    for warning in dict.fromkeys(warnings):
        text = shorten_warning(warning)
        if len(kept) >= MAX_WARNINGS or total + len(text) > MAX_WARNINGS_CHARS:
            extra += 1
            continue
        kept.append(text)
        total += len(text)
    if extra:
        kept.append(f"... and {extra} more warning{'s' if extra > 1 else ''}")
    return kept


def _whole(value: float) -> int:
    """Round half away from zero, the way people expect 1.5 -> 2 and -1.5 -> -2."""
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def render_frames(
    animation: bool,
    start: float,
    end: float,
    by: float,
    current_time: float,
    *,
    label: str = "",
    max_frames: int = MAX_FRAMES,
) -> tuple[list[int], list[str]]:
    """Return the whole frames a plain batch render renders, and why any were adjusted.

    With animation off Maya renders only the current time; with it on, ``start``,
    ``start + by``, ... up to ``end`` (``end`` itself only when the step lands on it).
    This tool renders whole frames only, so fractional values are rounded, each with a
    warning, rather than silently changing what gets rendered.

    Args:
        label: Prefix for warnings (e.g. ``"layer CHAR: "``).
        max_frames: Cap on the list length (a typo guard, as in the frame parser).
    """
    warnings: list[str] = []

    def whole(value: float, what: str) -> int:
        rounded = _whole(value)
        if not math.isclose(value, rounded, abs_tol=1e-6):
            warnings.append(
                f"{label}{what} {value:g} is not a whole frame; this tool renders whole "
                f"frames only, so it uses {rounded}"
            )
        return rounded

    if not animation:
        return [whole(current_time, "current time")], warnings
    first = whole(start, "start frame")
    last = whole(end, "end frame")
    step = whole(by, "frame step")
    if step < 1:
        warnings.append(f"{label}frame step {by:g} is below 1; using 1")
        step = 1
    if last < first:
        warnings.append(
            f"{label}end frame {end:g} is before start frame {start:g}; nothing to render"
        )
        return [], warnings
    count = (last - first) // step + 1
    if count > max_frames:
        warnings.append(
            f"{label}frames {first}-{last} (step {step}) make {count:,} frames; only the "
            f"first {max_frames:,} are listed"
        )
        last = first + (max_frames - 1) * step
    return list(range(first, last + 1, step)), warnings


# --------------------------------------------------------------------------- from_dict helpers


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: str) -> Any:
    if key not in data:
        raise ValidationError(f"{path}{key}", "missing")
    return _check(data[key], kind, f"{path}{key}")


def _optional(
    data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: str, default: Any
) -> Any:
    if key not in data or data[key] is None:
        return default
    return _check(data[key], kind, f"{path}{key}")


def _check(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ValidationError(where, f"expected {_names(kinds)}, got a boolean")
    if not isinstance(value, kinds):
        raise ValidationError(where, f"expected {_names(kinds)}, got {type(value).__name__}")
    return value


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)


def _number(data: Mapping[str, Any], key: str, path: str, default: float) -> float:
    return float(_optional(data, key, (int, float), path, default))


def _frames_from_text(text: str, where: str) -> list[int]:
    if not text.strip():
        return []
    try:
        return parse_frames(text, max_frames=MAX_FRAMES)
    except FrameRangeError as exc:
        raise ValidationError(where, str(exc)) from exc


def _string_list(data: Mapping[str, Any], key: str, path: str) -> list[str]:
    items = _optional(data, key, list, path, [])
    return [_check(item, str, f"{path}{key}[{i}]") for i, item in enumerate(items)]


def _resolution(data: Mapping[str, Any], path: str) -> tuple[int, int]:
    value = _optional(data, "resolution", (list, tuple), path, list(DEFAULT_RESOLUTION))
    if len(value) != 2:
        raise ValidationError(f"{path}resolution", "expected [width, height]")
    width = _check(value[0], int, f"{path}resolution[0]")
    height = _check(value[1], int, f"{path}resolution[1]")
    return (width, height)


def _node_attributes(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = _optional(data, "node_attributes", Mapping, "", {})
    return {
        str(node): dict(_check(values, Mapping, f"node_attributes.{node}"))
        for node, values in nodes.items()
    }


# --------------------------------------------------------------------------- models


@dataclass
class ArnoldAov:
    """One Arnold AOV (an ``aiAOV`` node) connected to ``defaultArnoldRenderOptions.aovList``.

    ``name`` is the AOV's output name (``aiAOV.name``, e.g. ``"diffuse"``); ``enabled`` is
    ``aiAOV.enabled`` (on unless the file turns it off).
    """

    node: str
    name: str
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe data."""
        return {"node": self.node, "name": self.name, "enabled": self.enabled}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "") -> ArnoldAov:
        """Build from :meth:`to_dict` output; raise ValidationError naming a bad field."""
        _check(data, Mapping, path.rstrip(".") or "aov")
        return cls(
            node=_require(data, "node", str, path),
            name=_require(data, "name", str, path),
            enabled=_optional(data, "enabled", bool, path, True),
        )


@dataclass
class LayerDescription:
    """One render layer and the settings a batch render of it uses.

    ``name`` is what artists see (Render Setup layer name, legacy layer name, or
    ``masterLayer``); ``node`` is the ``renderLayer`` node a render switches to
    (``rs_<name>`` for Render Setup, ``defaultRenderLayer`` for the master layer).
    ``overrides`` lists the per-layer values that differ from the master layer's
    settings, keyed ``node.longAttribute``, so a user can see why a layer differs.
    ``locked_overrides`` lists those of them (same keys) whose Render Setup override has
    a locked value plug: Maya refuses a ``setAttr`` on such a plug while the layer is
    current, so a tool cannot change that setting for the layer.
    """

    name: str
    node: str
    master: bool = False
    renderable: bool = True
    renderer: str = DEFAULT_RENDERER
    animation: bool = False
    start_frame: float = 1.0
    end_frame: float = 10.0
    by_frame: float = 1.0
    image_prefix: str = ""
    frames: list[int] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    legacy: bool = False
    #: Renderable cameras in this layer (per-layer camera overrides applied).
    cameras: list[str] = field(default_factory=list)
    resolution: tuple[int, int] = DEFAULT_RESOLUTION
    #: Plugs (``node.longAttribute``) driven by an override whose value plug is locked.
    locked_overrides: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe data; frames as compact text, as users write them."""
        return {
            "name": self.name,
            "node": self.node,
            "master": self.master,
            "renderable": self.renderable,
            "renderer": self.renderer,
            "frames": format_frames(self.frames),
            "image_prefix": self.image_prefix,
            "legacy": self.legacy,
            "animation": self.animation,
            "frame_range": {"start": self.start_frame, "end": self.end_frame, "by": self.by_frame},
            "cameras": list(self.cameras),
            "resolution": [self.resolution[0], self.resolution[1]],
            "overrides": dict(self.overrides),
            "locked_overrides": list(self.locked_overrides),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "") -> LayerDescription:
        """Build from :meth:`to_dict` output; raise ValidationError naming a bad field."""
        _check(data, Mapping, path.rstrip(".") or "layer")
        frame_range = _optional(data, "frame_range", Mapping, path, {})
        range_path = f"{path}frame_range."
        overrides = _optional(data, "overrides", Mapping, path, {})
        return cls(
            name=_require(data, "name", str, path),
            node=_require(data, "node", str, path),
            master=_require(data, "master", bool, path),
            renderable=_require(data, "renderable", bool, path),
            renderer=_require(data, "renderer", str, path),
            animation=_optional(data, "animation", bool, path, False),
            start_frame=_number(frame_range, "start", range_path, 1.0),
            end_frame=_number(frame_range, "end", range_path, 10.0),
            by_frame=_number(frame_range, "by", range_path, 1.0),
            image_prefix=_require(data, "image_prefix", str, path),
            frames=_frames_from_text(_require(data, "frames", str, path), f"{path}frames"),
            overrides={str(k): v for k, v in overrides.items()},
            legacy=_optional(data, "legacy", bool, path, False),
            cameras=_string_list(data, "cameras", path),
            resolution=_resolution(data, path),
            locked_overrides=_string_list(data, "locked_overrides", path),
        )


@dataclass
class SceneDescription:
    """A scene's render settings and its layers in render order (master layer first).

    ``warnings`` collects everything the reader skipped or had to guess, so the user
    sees it before rendering instead of discovering it in the output.
    """

    path: str
    maya_version: str | None = None
    requires: list[str] = field(default_factory=list)
    time_unit: str = "film"
    fps: float = 24.0
    current_time: float = 1.0
    renderer: str = DEFAULT_RENDERER
    animation: bool = False
    start_frame: float = 1.0
    end_frame: float = 10.0
    by_frame: float = 1.0
    image_prefix: str = ""
    resolution: tuple[int, int] = DEFAULT_RESOLUTION
    renderable_cameras: list[str] = field(default_factory=list)
    #: Every camera in the file, renderable or not: shape and transform names (``--camera``
    #: may name either). Cameras inside referenced files are not listed.
    cameras: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    #: Output settings as stored in the file, by node and long attribute name (e.g.
    #: ``{"defaultRenderGlobals": {"extensionPadding": 4}}``); no per-layer overrides.
    node_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    layers: list[LayerDescription] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    render_setup: bool = False
    #: Display name of the layer that was visible when the scene was saved.
    current_layer: str = MASTER_LAYER
    #: Arnold AOVs in the order they are connected to the options node's ``aovList``.
    arnold_aovs: list[ArnoldAov] = field(default_factory=list)
    #: Why the file looks cut short (it ends inside a statement, or without Maya's
    #: ``// End of`` line), or None. Its callers decide: ``render`` refuses such a scene
    #: (every frame would fail later), ``layers`` shows it as a warning.
    truncated: str | None = None

    def layer(self, name_or_node: str) -> LayerDescription | None:
        """Return the layer with this display name or node name, or None."""
        for layer in self.layers:
            if name_or_node in (layer.name, layer.node):
                return layer
        return None

    def renderable_layers(self) -> list[LayerDescription]:
        """Return the layers a plain batch render renders, in render order."""
        return [layer for layer in self.layers if layer.renderable]

    def frames(self) -> list[int]:
        """Return the frames of the scene's own (master layer) settings."""
        frames, _ = render_frames(
            self.animation, self.start_frame, self.end_frame, self.by_frame, self.current_time
        )
        return frames

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe data (the CLI prints it; mayapy ``--describe`` emits it)."""
        return {
            "path": self.path,
            "maya_version": self.maya_version,
            "requires": list(self.requires),
            "renderer": self.renderer,
            "time_unit": self.time_unit,
            "fps": self.fps,
            "current_time": self.current_time,
            "animation": self.animation,
            "frame_range": {"start": self.start_frame, "end": self.end_frame, "by": self.by_frame},
            "frames": format_frames(self.frames()),
            "image_prefix": self.image_prefix,
            "resolution": [self.resolution[0], self.resolution[1]],
            "renderable_cameras": list(self.renderable_cameras),
            "cameras": list(self.cameras),
            "references": list(self.references),
            "node_attributes": {
                node: dict(values) for node, values in self.node_attributes.items()
            },
            "render_setup": self.render_setup,
            "current_layer": self.current_layer,
            "layers": [layer.to_dict() for layer in self.layers],
            "arnold_aovs": [aov.to_dict() for aov in self.arnold_aovs],
            "warnings": list(self.warnings),
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SceneDescription:
        """Build from :meth:`to_dict` output; raise ValidationError naming a bad field."""
        _check(data, Mapping, "scene")
        frame_range = _require(data, "frame_range", Mapping, "")
        layers = _require(data, "layers", list, "")
        version = _optional(data, "maya_version", str, "", None)
        aovs = _optional(data, "arnold_aovs", list, "", [])
        return cls(
            path=_optional(data, "path", str, "", ""),
            maya_version=version,
            requires=_string_list(data, "requires", ""),
            time_unit=_require(data, "time_unit", str, ""),
            fps=_number(data, "fps", "", 24.0),
            current_time=_number(data, "current_time", "", 1.0),
            renderer=_require(data, "renderer", str, ""),
            animation=_require(data, "animation", bool, ""),
            start_frame=float(_require(frame_range, "start", (int, float), "frame_range.")),
            end_frame=float(_require(frame_range, "end", (int, float), "frame_range.")),
            by_frame=float(_require(frame_range, "by", (int, float), "frame_range.")),
            image_prefix=_require(data, "image_prefix", str, ""),
            resolution=_resolution(data, ""),
            renderable_cameras=_string_list(data, "renderable_cameras", ""),
            cameras=_string_list(data, "cameras", ""),
            references=_string_list(data, "references", ""),
            node_attributes=_node_attributes(data),
            layers=[
                LayerDescription.from_dict(item, f"layers[{i}].") for i, item in enumerate(layers)
            ],
            warnings=bounded_warnings(_string_list(data, "warnings", "")),
            render_setup=_optional(data, "render_setup", bool, "", False),
            current_layer=_optional(data, "current_layer", str, "", MASTER_LAYER),
            arnold_aovs=[
                ArnoldAov.from_dict(item, f"arnold_aovs[{i}].") for i, item in enumerate(aovs)
            ],
            truncated=_optional(data, "truncated", str, "", None),
        )
