"""A PREDICTION of where Maya writes a frame: image-prefix tokens, default subfolders,
padding, extension.

Real renders do not rely on it where Maya can be asked: the worker asks Maya's
``renderSettings`` (Maya Software, Hardware 2.0) and MtoA's ``getFileName`` (Arnold) for
every product (:meth:`lrc_toolbox.worker.renderers.RendererHandler.products`). This module
is used only where nothing can be asked: Redshift and V-Ray (no naming query was found for
either; the worker falls back to this prediction), and the Deadline 10 export's output
folder, which is written without Maya. The simulator never uses it (a test checks): it
has its own model of Maya's naming (:mod:`lrc_toolbox.sim.naming`).

Sources:
- Tokens ``<Scene>``, ``<RenderLayer>``/``<Layer>``, ``<Camera>``, ``<RenderPass>``,
  ``<Version>`` and their old ``%s %l %c %a %v`` forms; a prefix left empty means ``<Scene>``;
  camera names lose namespace colons (OpenPype/AYON ``lib_renderproducts.py``, which mirrors
  mtoa's ``getFileName``).
- Default subfolders when the prefix is empty: one folder per render layer when more than one
  layer renders, and one per camera when more than one camera is renderable; Render Setup
  layers use the node name ``rs_<name>`` and the master layer ``masterLayer`` (Autodesk Maya
  help, "Subfolders and names of rendered images" and the Render Setup batch-render page).
- Frame number before the extension, zero-padded to ``extensionPadding``: ``name.0001.exr``
  (``defaultRenderGlobals.putFrameBeforeExt`` / ``periodInExt``, as Deadline's MayaBatch and
  OpenPype expect).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "MASTER_LAYER",
    "OutputSpec",
    "expand_prefix",
    "expected_outputs",
    "frame_file_name",
    "path_inside",
    "sanitize_token_value",
]

MASTER_LAYER = "masterLayer"

_SCENE = re.compile(r"<scene>|%s", re.IGNORECASE)
_LAYER = re.compile(r"<renderlayer>|<layer>|%l", re.IGNORECASE)
_CAMERA = re.compile(r"<camera>|%c", re.IGNORECASE)
_VERSION = re.compile(r"<version>|%v", re.IGNORECASE)
_PASS = re.compile(r"<renderpass>|<aov>|%a", re.IGNORECASE)
# an unfilled pass token takes its separator with it: "beauty_<RenderPass>" -> "beauty"
_PASS_WITH_SEP = re.compile(r"[._]?(?:<renderpass>|<aov>|%a)", re.IGNORECASE)
# ... or the separator after it when the token starts a path component: "<RenderPass>_<Scene>"
_PASS_AT_START = re.compile(r"(^|/)(?:<renderpass>|<aov>|%a)[._]?", re.IGNORECASE)
_UNSAFE = re.compile(r"[^0-9A-Za-z_.-]+")


def sanitize_token_value(value: str) -> str:
    """Names as Maya writes them in file names: ``ns:cam`` -> ``ns_cam``."""
    return _UNSAFE.sub("_", value.strip("|")).strip("_") or "_"


@dataclass
class OutputSpec:
    """What decides a frame's file names, read from the scene by whoever computes them.

    Attributes:
        images_dir: the project's images folder or the chosen output folder (absolute).
        prefix: the renderer's image prefix with tokens; empty means Maya's default.
        scene: scene name without folder or extension (the artist's scene, not a snapshot).
        layer: display name of the layer (``masterLayer`` for ``defaultRenderLayer``).
        layer_node: the renderLayer node (``rs_BG``), used for the default layer folders.
        camera: the camera transform being rendered.
        ext: file extension without the dot (``exr``, ``iff``, ``png``).
        padding: digits of the frame number (``extensionPadding``).
        multiple_layers: more than one layer renders in this scene (default layer folders).
        multiple_cameras: more than one camera is renderable (default camera folders).
        version: ``defaultRenderGlobals.renderVersion``, for ``<Version>``.
        passes: render passes / AOVs written to separate files; ``[""]`` is the beauty alone.
        separator: between name and frame: ``.`` (``name.0001.exr``) or ``_``.
    """

    images_dir: str
    prefix: str
    scene: str
    layer: str
    layer_node: str
    camera: str
    ext: str
    padding: int = 4
    multiple_layers: bool = False
    multiple_cameras: bool = False
    version: str = ""
    passes: Sequence[str] = field(default_factory=lambda: [""])
    separator: str = "."


def expand_prefix(spec: OutputSpec, render_pass: str = "") -> str:
    """The prefix with every token filled in (a relative path without frame or extension)."""
    return _expand(spec, render_pass).strip("/") or sanitize_token_value(spec.scene)


def _expand(spec: OutputSpec, render_pass: str) -> str:
    """The prefix with every token filled in, ``/``-separated, still absolute if it is."""
    prefix = spec.prefix.strip()
    if len(spec.passes) > 1 and not _PASS.search(prefix):
        # several passes and no token: each pass gets its own folder, as Arnold does
        # (OpenPype lib_renderproducts: "<RenderPass>/" is prepended)
        prefix = "<RenderPass>/" + (prefix or "<Scene>")
    if not prefix:
        prefix = "<Scene>"
        if spec.multiple_cameras:
            prefix = "<Camera>/" + prefix
        if spec.multiple_layers:
            # default folders use the layer node (rs_<name>), per Autodesk's help
            node = MASTER_LAYER if spec.layer == MASTER_LAYER else spec.layer_node
            prefix = sanitize_token_value(node) + "/" + prefix
    prefix = _SCENE.sub(lambda _m: sanitize_token_value(spec.scene), prefix)
    prefix = _LAYER.sub(lambda _m: sanitize_token_value(spec.layer), prefix)
    prefix = _CAMERA.sub(lambda _m: sanitize_token_value(spec.camera), prefix)
    version = sanitize_token_value(spec.version) if spec.version else ""
    prefix = _VERSION.sub(lambda _m: version, prefix)
    if render_pass:
        prefix = _PASS.sub(lambda _m: sanitize_token_value(render_pass), prefix)
    else:
        prefix = _PASS_AT_START.sub(lambda m: m.group(1), prefix)
        prefix = _PASS_WITH_SEP.sub("", prefix)
    return re.sub(r"/{2,}", "/", prefix.replace("\\", "/"))


def _stem_path(spec: OutputSpec, render_pass: str) -> str:
    """Where a frame's file goes, without frame number and extension: the expanded prefix
    under ``images_dir``; an ABSOLUTE prefix is used as it is, as Maya and MtoA do (they
    join the images folder with the prefix, and joining an absolute path gives that path:
    MTOA ``utils.getFileName``, modelled in ``lrc_toolbox.sim.naming``)."""
    expanded = _expand(spec, render_pass)
    if os.path.isabs(expanded):
        return expanded.rstrip("/") or expanded
    return os.path.join(spec.images_dir, expanded.strip("/") or sanitize_token_value(spec.scene))


def frame_file_name(stem: str, frame: int, padding: int, ext: str, separator: str = ".") -> str:
    """``stem.0012.exr``; negative frames keep their sign inside the padding (``-012``)."""
    number = f"{frame:0{max(1, padding)}d}"
    return f"{stem}{separator}{number}.{ext.lstrip('.')}" if ext else f"{stem}{separator}{number}"


def expected_outputs(spec: OutputSpec, frame: int) -> list[str]:
    """Absolute paths of the files a frame writes (one per pass), in the OS's separators."""
    paths = []
    for render_pass in spec.passes or [""]:
        stem = _stem_path(spec, render_pass)
        name = frame_file_name(stem, frame, spec.padding, spec.ext, spec.separator)
        paths.append(os.path.normpath(name))
    return paths


def path_inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` lies inside ``folder`` (strictly below it) once ``..`` and
    symbolic links are resolved; a relative ``path`` is relative to ``folder``.

    No file is created or changed (existing links are read). Every image must pass it:
    the planned products of every layer and camera before a batch starts, and each
    product a worker reports. A path equal to the folder, a path with a NUL byte and a
    path on another drive are not inside.
    """
    base_text, path_text = os.fspath(folder), os.fspath(path)
    if "\0" in base_text or "\0" in path_text:
        return False
    base = os.path.realpath(base_text)
    target = os.path.realpath(os.path.join(base, path_text))
    base_key, target_key = os.path.normcase(base), os.path.normcase(target)
    if target_key == base_key:
        return False
    try:
        return os.path.commonpath([base_key, target_key]) == base_key
    except ValueError:  # another drive (Windows), or a mix of absolute and relative
        return False
