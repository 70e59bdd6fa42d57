"""Where Maya and its renderers write a frame's images: the SIMULATOR's model of Maya.

Written from the sources named beside each rule, independently of the worker's prediction
(:mod:`lrc_toolbox.utils.output_paths`), which this module must not import (a test checks):
when the worker and this model disagree, a test sees it.

MTOA = MtoA's sources in the history of ``sebastienblor/arnold-usd`` @ ``f0920e993c42``.

- :func:`mtoa_file_name` is MtoA's ``scripts/mtoa/utils.py`` ``getFileName`` with the four
  token hooks of ``scripts/mtoa/hooks.py`` (``fileTokenScene``, ``fileTokenRenderPass``,
  ``fileTokenCamera``, ``fileTokenRenderLayer``, run in that registration order, each one
  prepending its folder) and ``expandFileTokens`` (``[...]`` groups dropped when a token in
  them has no value; unmatched tokens removed; ``:`` in a value becomes ``_``).
- :func:`arnold_outputs` is what MtoA's options translator asks of it for one frame
  (``plugins/mtoa/translators/options/OptionsTranslator.cpp`` ``ProcessAOVs`` and the
  output loop): one file per AOV with ``RenderPass=<aov name>``, the beauty as ``beauty``;
  ``strictAOVs`` is false only when AOVs are enabled, in use and the driver does not merge
  them.
- :func:`maya_file_name` is Maya's own naming for its renderers (``renderSettings``,
  ``MCommonRenderSettingsData::getImageName``): Autodesk, "Subfolders and names of rendered
  images" (one folder per render layer when the scene has more than one, one per camera
  when more than one camera is renderable, only when the prefix is empty) and the Render
  Setup batch page of Maya 2016 (folders named after the layer NODE, ``rs_character``;
  ``masterLayer`` for the default layer).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ArnoldAovState",
    "FrameNaming",
    "arnold_outputs",
    "maya_file_name",
    "mtoa_file_name",
]

MASTER = "masterLayer"
DEFAULT_LAYER = "defaultRenderLayer"

_GROUP = re.compile(r"\[([^\]]+)\]")
_TOKEN = re.compile(r"<([a-zA-Z]+)>")


@dataclass(frozen=True)
class FrameNaming:
    """What Maya's naming reads from the open scene, for the current layer.

    Attributes:
        images_dir: the project's ``images`` file rule, expanded (absolute).
        scene: the scene file's name without folder or extension (``untitled`` if none).
        prefix: ``defaultRenderGlobals.imageFilePrefix`` (the renderer's prefix for V-Ray).
        layer_node: the current render layer node (``rs_BG``, ``defaultRenderLayer``).
        layer_display: its display name (``BG``, ``masterLayer``).
        connected_layers: layers connected to ``renderLayerManager.renderLayerId``.
        renderable_cameras: camera shapes with ``renderable`` on, in the whole scene.
        padding: ``defaultRenderGlobals.extensionPadding``.
        frame_before_ext: ``putFrameBeforeExt``.
        period_in_ext: ``periodInExt`` (0 none, 1 ``.``, 2 ``_``).
        version: ``defaultRenderGlobals.renderVersion``.
    """

    images_dir: str
    scene: str
    prefix: str
    layer_node: str
    layer_display: str
    connected_layers: int
    renderable_cameras: int
    padding: int = 1
    frame_before_ext: bool = True
    period_in_ext: int = 1
    version: str = ""

    def scheme(self) -> str:
        """The frame/extension suffix for an animation (MTOA ``getFileName`` schemes,
        indexed by Maya's naming scheme: ``name.#.ext``, ``name.ext.#``, ``name#.ext``,
        ``name_#.ext``)."""
        if not self.frame_before_ext:
            return ".<Extension>.<Frame>"
        if self.period_in_ext == 2:
            return "_<Frame>.<Extension>"
        if self.period_in_ext == 0:
            return "<Frame>.<Extension>"
        return ".<Frame>.<Extension>"

    def frame_text(self, frame: int) -> str:
        # MTOA getFileName: str(int(round(frame))), zero-padded to framePadding (a minus
        # sign counts as a digit there: -5 at padding 4 is "00-5")
        text = str(frame)
        return "0" * max(0, self.padding - len(text)) + text


def _substitute(parts: Sequence[str], tokens: Mapping[str, str], all_or_nothing: bool) -> str:
    """MTOA ``utils._substitute`` with ``leaveUnmatchedTokens`` off."""
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
            continue
        if part in tokens:
            out.append(str(tokens[part]).replace(":", "_"))
        elif all_or_nothing:
            return ""
        else:
            out.append("")
    return "".join(out)


def expand_file_tokens(path: str, tokens: Mapping[str, str]) -> str:
    """MTOA ``utils.expandFileTokens``: outside ``[...]`` an unmatched token is dropped;
    a ``[...]`` group is dropped whole unless every token in it has a value."""
    result = []
    for i, group in enumerate(_GROUP.split(path)):
        parts = _TOKEN.split(group)
        # MTOA's helper ``even(n)`` answers ``n % 2 != 0``: its "even" pieces are the odd
        # ones, i.e. the bracketed groups, which are all-or-nothing
        if i % 2 == 0:
            result.append(_substitute(parts, tokens, all_or_nothing=False))
        else:
            result.append(_substitute(parts, tokens, all_or_nothing=True))
    return "".join(result)


def mtoa_file_name(
    naming: FrameNaming,
    *,
    path: str,
    tokens: Mapping[str, str],
    frame: int,
    strict_aovs: bool,
    temp: bool = False,
) -> str:
    """MTOA ``utils.getFileName(pathType, tokens, path=..., frame=..., strictAOVs=...)``.

    ``tokens`` as MtoA's C++ passes them (``plugins/mtoa/utils/MayaUtils.cpp``
    ``getFileName``): ``RenderPass``, ``RenderLayer`` (the layer NODE), ``Camera``,
    ``Extension``, ``Scene``. ``temp`` is the ``'temp'`` path type (an interactive
    render): ``<images>/tmp/<name>``.
    """
    values = dict(tokens)
    path = (path or "<Scene>") + naming.scheme()
    values.setdefault("Frame", naming.frame_text(frame))
    # hooks.fileTokenScene
    if "<Scene>" in path and "Scene" not in values:
        values["Scene"] = naming.scene or "untitled"
    # hooks.fileTokenRenderPass
    relative = not os.path.isabs(path)
    if not strict_aovs and "<RenderPass>" not in path and "RenderPass" in values and relative:
        path = "<RenderPass>/" + path
    # hooks.fileTokenCamera: renderable camera SHAPES in the whole scene
    if "<Camera>" not in path and naming.renderable_cameras > 1 and not os.path.isabs(path):
        path = "<Camera>/" + path
    # hooks.fileTokenRenderLayer: layers CONNECTED to the manager, renderable or not
    if "<RenderLayer>" not in path and naming.connected_layers > 1 and not os.path.isabs(path):
        path = "<RenderLayer>/" + path
    if "<RenderLayer>" in path and "RenderLayer" not in values:
        values["RenderLayer"] = naming.layer_node
    # getFileName: the layer token becomes renderLayerDisplayName of the node
    # (defaultRenderLayer -> masterLayer, done by fileTokenRenderLayer first)
    if values.get("RenderLayer") in (DEFAULT_LAYER, MASTER):
        values["RenderLayer"] = MASTER
    elif "RenderLayer" in values and values["RenderLayer"] == naming.layer_node:
        values["RenderLayer"] = naming.layer_display
    partial = expand_file_tokens(path, values)
    folder = os.path.join(naming.images_dir, "tmp") if temp else naming.images_dir
    return os.path.join(folder, partial).replace("\\", "/")


@dataclass(frozen=True)
class ArnoldAovState:
    """What MtoA's options translator reads about AOVs (``ProcessAOVs``).

    Attributes:
        mode: ``defaultArnoldRenderOptions.aovMode`` (0 disabled, 1 enabled, 2 batch only).
        variance: ``outputVarianceAOVs`` (makes AOVs "in use" on its own).
        merge: ``defaultArnoldDriver.mergeAOVs``.
        aovs: ``(name, enabled)`` of every aiAOV connected to ``aovList``, in order.
    """

    mode: int = 1
    variance: bool = False
    merge: bool = False
    aovs: tuple[tuple[str, bool], ...] = ()


def arnold_outputs(
    naming: FrameNaming,
    state: ArnoldAovState,
    *,
    camera: str,
    ext: str,
    frame: int,
    batch: bool = True,
) -> list[str]:
    """Every file MtoA writes for one frame and camera: the beauty first, then each
    enabled AOV (MTOA ``OptionsTranslator.cpp``)."""
    enabled = state.mode == 1 or (state.mode == 2 and batch)
    in_use = state.variance
    names = ["beauty"]
    for name, on in state.aovs:
        if name == "beauty":
            continue  # the beauty is always written, once
        in_use = True  # "AOVs are considered in-use even if they are not enabled"
        if enabled and on and name not in names:
            names.append(name)
    strict = not (enabled and in_use and not state.merge)
    outputs: list[str] = []
    for name in names:
        path = mtoa_file_name(
            naming,
            path=naming.prefix,
            tokens={
                "RenderPass": name,
                "RenderLayer": naming.layer_node,
                "Camera": camera,
                "Extension": ext,
                "Scene": naming.scene,
            },
            frame=frame,
            strict_aovs=strict,
            temp=not batch,
        )
        # several AOVs under one file name (merged AOVs) share one driver: MTOA keeps
        # one file per distinct name (m_multiDriverMap)
        if path not in outputs:
            outputs.append(path)
    return outputs


_MAYA_TOKENS = re.compile(r"<(Scene|RenderLayer|Layer|Camera|Version|RenderPass)>", re.I)


def maya_file_name(
    naming: FrameNaming, *, camera: str, ext: str, frame: int, temp: bool = False
) -> str:
    """Maya's own naming (Maya Software, Hardware 2.0; what ``renderSettings
    -firstImageName -fullPath`` answers). With an empty prefix Maya adds a folder per
    layer (the layer NODE name, ``masterLayer`` for the default layer) when the scene has
    more than one render layer, and one per camera when more than one is renderable;
    a prefix the user wrote is taken as it is (ADSK "Subfolders and names of rendered
    images"; Render Setup batch page, 2016)."""
    prefix = naming.prefix.strip()
    if not prefix:
        prefix = "<Scene>"
        if naming.renderable_cameras > 1:
            prefix = "<Camera>/" + prefix
        if naming.connected_layers > 1:
            layer = MASTER if naming.layer_node == DEFAULT_LAYER else naming.layer_node
            prefix = layer + "/" + prefix

    def value(match: re.Match[str]) -> str:
        token = match.group(1).lower()
        if token == "scene":
            return naming.scene or "untitled"
        if token in ("renderlayer", "layer"):
            return MASTER if naming.layer_node == DEFAULT_LAYER else naming.layer_display
        if token == "camera":
            return camera.replace(":", "_")
        if token == "version":
            return naming.version
        return ""

    stem = _MAYA_TOKENS.sub(value, prefix)
    suffix = naming.scheme().replace("<Frame>", naming.frame_text(frame))
    name = stem + suffix.replace("<Extension>", ext)
    folder = os.path.join(naming.images_dir, "tmp") if temp else naming.images_dir
    return os.path.normpath(os.path.join(folder, name))
