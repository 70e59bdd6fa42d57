"""``maya.cmds`` stand-in: the commands the worker uses, with Maya's flag names.

Each function accepts Maya's long and short flag names for the flags it supports and
raises ``RuntimeError`` (as maya.cmds does) with Maya-like wording on misuse. Anything not
listed here does not exist, so a worker that starts calling something new fails loudly in
tests instead of passing against a permissive mock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lrc_toolbox.sim.naming import maya_file_name
from lrc_toolbox.sim.runtime import SIM_MAYA_VERSION, MayaError, session


def _flag(kwargs: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in kwargs:
            return kwargs[name]
    return default


# ---------------------------------------------------------------------- files & project


def file(*args: Any, **kwargs: Any) -> Any:
    sim = session()
    if _flag(kwargs, "query", "q"):
        if _flag(kwargs, "sceneName", "sn", "location", "loc"):
            return sim.scene_path if sim.scene else ""
        if _flag(kwargs, "reference", "r"):
            return list(sim.scene.references) if sim.scene else []
        raise MayaError("file: unsupported query in the simulator")
    if _flag(kwargs, "open", "o"):
        if not args:
            raise MayaError("file: no file name given")
        path = str(args[0])
        if not Path(path).exists():
            raise MayaError(f'File not found: "{path}"')
        return sim.open(path)
    renamed = _flag(kwargs, "rename", "rn")
    if renamed:
        sim.rename(str(renamed))
        return sim.scene_path
    raise MayaError("file: unsupported flags in the simulator")


def dirmap(*args: Any, **kwargs: Any) -> Any:
    """``dirmap`` (ADSK dirmap reference): ``enable`` (and its query), ``mapDirectory``
    (source, destination: absolute, forward slashes), ``unmapDirectory``,
    ``getMappedDirectory``, ``getAllMappings`` (source, destination, ...) and
    ``convertDirectory``."""
    sim = session()
    if _flag(kwargs, "query", "q"):
        if _flag(kwargs, "enable", "en") is not None:
            return sim.dirmap_enabled
        raise MayaError("dirmap: unsupported query in the simulator")
    enable = _flag(kwargs, "enable", "en")
    if enable is not None:
        sim.dirmap_enabled = bool(enable)
        return None
    mapped = _flag(kwargs, "mapDirectory", "m")
    if mapped is not None:
        source, destination = (str(p) for p in mapped)
        for path in (source, destination):
            if "\\" in path:
                raise MayaError(f"dirmap: use forward slashes in {path!r}")
        sim.dirmaps[source] = destination
        return None
    unmapped = _flag(kwargs, "unmapDirectory", "um")
    if unmapped is not None:
        sim.dirmaps.pop(str(unmapped), None)
        return None
    source = _flag(kwargs, "getMappedDirectory", "gmd")
    if source is not None:
        return sim.dirmaps.get(str(source), "")
    if _flag(kwargs, "getAllMappings", "gam"):
        return [p for pair in sim.dirmaps.items() for p in pair]
    converted = _flag(kwargs, "convertDirectory", "cd")
    if converted is not None:
        return sim.convert_directory(str(converted))
    raise MayaError("dirmap: give one of -m, -um, -gmd, -gam, -cd, -en")


def workspace(*args: Any, **kwargs: Any) -> Any:
    sim = session()
    if _flag(kwargs, "openWorkspace", "o"):
        sim.open_workspace(str(args[0]))
        return None
    rule = _flag(kwargs, "fileRule", "fr")
    if rule is not None:
        sim.file_rules[str(rule[0])] = str(rule[1])
        return None
    entry = _flag(kwargs, "fileRuleEntry", "fre")
    if entry is not None:
        return sim.file_rules.get(str(entry), "")
    expand = _flag(kwargs, "expandName", "en")
    if expand is not None:
        return sim.expand(str(expand))
    if _flag(kwargs, "query", "q") and _flag(kwargs, "rootDirectory", "rd"):
        return sim.project + "/"
    raise MayaError("workspace: unsupported flags in the simulator")


def about(**kwargs: Any) -> Any:
    if _flag(kwargs, "version", "v"):
        scene = session().scene
        return scene.maya_version if scene and scene.maya_version else SIM_MAYA_VERSION
    if _flag(kwargs, "batch", "b"):
        return True
    if _flag(kwargs, "apiVersion", "api"):
        return 20240000
    raise MayaError("about: unsupported flag in the simulator")


# ---------------------------------------------------------------------- nodes & attributes


def objExists(name: str) -> bool:
    return session().exists(name)


def getAttr(plug: str, **kwargs: Any) -> Any:
    return session().get_attr(plug)


def setAttr(plug: str, *values: Any, **kwargs: Any) -> None:
    if not values:
        raise MayaError(f"setAttr: no value given for {plug}")
    kind = _flag(kwargs, "type", "typ")
    value = values[0] if len(values) == 1 else list(values)
    if kind == "string" and not isinstance(value, str):
        raise MayaError(f"setAttr: {plug} expects a string")
    session().set_attr(plug, value)


def ls(*args: Any, **kwargs: Any) -> list[str]:
    sim = session()
    kind = _flag(kwargs, "type", "typ")
    if _flag(kwargs, "cameras", "ca") or kind == "camera":
        return sim.camera_shapes()
    if kind == "renderLayer":
        return sim.layer_nodes()
    if kind is not None:
        return [n for n in args if sim.exists(str(n))] if args else []
    return [str(n) for n in args if sim.exists(str(n))]


def listRelatives(node: Any, **kwargs: Any) -> list[str] | None:
    sim = session()
    nodes = node if isinstance(node, (list, tuple)) else [node]
    result: list[str] = []
    for name in nodes:
        if _flag(kwargs, "parent", "p"):
            if name in sim.camera_shapes():
                result.append(sim.transform_of(str(name)))
        elif _flag(kwargs, "shapes", "s") or _flag(kwargs, "children", "c"):
            shape = sim.shape_of(str(name))
            if shape:
                result.append(shape)
    return result or None


def editRenderLayerGlobals(**kwargs: Any) -> Any:
    sim = session()
    if _flag(kwargs, "query", "q"):
        return sim.current_layer
    layer = _flag(kwargs, "currentRenderLayer", "crl")
    if layer is None:
        raise MayaError("editRenderLayerGlobals: unsupported flags in the simulator")
    sim.switch_layer(str(layer))
    return None


def currentTime(*args: Any, **kwargs: Any) -> float:
    sim = session()
    if args:
        sim.current_time = float(args[0])
    return sim.current_time


def currentUnit(**kwargs: Any) -> str:
    scene = session().scene
    return str(scene.time_unit) if scene else "film"


# ---------------------------------------------------------------------- plug-ins


def pluginInfo(name: str, **kwargs: Any) -> Any:
    if _flag(kwargs, "loaded", "l"):
        return session().plugin_loaded(name)
    if _flag(kwargs, "version", "v"):
        return session().plugin_version(name)
    raise MayaError("pluginInfo: unsupported flags in the simulator")


def loadPlugin(name: str, **kwargs: Any) -> list[str]:
    session().load_plugin(name)
    return [name]


# ---------------------------------------------------------------------- render commands


def _frame_from_globals() -> int:
    return round(float(session().get_attr("defaultRenderGlobals.startFrame")))


def _renderer() -> str:
    return str(session().get_attr("defaultRenderGlobals.currentRenderer"))


def render(*args: Any, **kwargs: Any) -> str:
    """Maya's ``render`` (ADSK render command reference): without ``-batch`` an
    INTERACTIVE render of the current time with the current renderer, written as a
    preview under ``<images>/tmp/`` (ADSK renderSettings ``-fullPathTemp`` "the preview
    render"; MTOA getFileName's 'temp' path type); ``-layer`` renders that layer; with
    ``-batch`` the flags are ignored and every renderable layer and camera is rendered
    over the animation range, like Render from the command line."""
    sim = session()
    renderer = _renderer()
    if _flag(kwargs, "batch", "b"):
        sim.batch_render(renderer)
        return ""
    camera = str(args[0]) if args else "persp"
    layer = _flag(kwargs, "layer", "l")
    if layer and str(layer) != sim.current_layer:
        sim.switch_layer(str(layer))
    written = sim.render(renderer, camera, round(sim.current_time), temp=True)
    return written[0] if written else ""


def arnoldRender(**kwargs: Any) -> None:
    sim = session()
    if not sim.renderer_loaded("arnold"):
        raise MayaError('Cannot find procedure "arnoldRender".')
    camera = str(_flag(kwargs, "camera", "cam", default="persp"))
    seq = _flag(kwargs, "seq")
    frame = int(float(seq)) if seq not in (None, "") else _frame_from_globals()
    sim.render("arnold", camera, frame)


def vrend(**kwargs: Any) -> None:
    sim = session()
    if not sim.renderer_loaded("vray"):
        raise MayaError('Cannot find procedure "vrend".')
    camera = str(_flag(kwargs, "camera", "cam", default="persp"))
    frames = str(sim.get_attr("vraySettings.animFrames") or "")
    frame = int(float(frames)) if frames.strip() else _frame_from_globals()
    sim.render("vray", camera, frame)


def ogsRender(**kwargs: Any) -> str:
    sim = session()
    camera = str(_flag(kwargs, "camera", "cam", default="persp"))
    frame = round(sim.current_time)
    written = sim.render("mayaHardware2", camera, frame)
    return written[0] if written else ""


def rsRender(**kwargs: Any) -> None:
    """Redshift's ``rsRender``: with ``-render -batch`` a batch render of every renderable
    layer over the animation range for ``-camera`` (DCM redshift_handler.py and PR #470);
    without ``-batch`` the current frame as a preview (modelled like ``render``)."""
    sim = session()
    if not sim.renderer_loaded("redshift"):
        raise MayaError('Cannot find procedure "rsRender".')
    camera = _flag(kwargs, "camera", "cam")
    if not _flag(kwargs, "render", "r"):
        raise MayaError("rsRender: nothing to do without -render in the simulator")
    if _flag(kwargs, "batch", "b"):
        if not _flag(kwargs, "animation", "a"):
            glob = sim.attrs["defaultRenderGlobals"]
            glob_anim = glob.get("animation")
            glob["animation"] = False  # one frame: the current time
            try:
                sim.batch_render("redshift", str(camera) if camera else None)
            finally:
                glob["animation"] = glob_anim
            return
        sim.batch_render("redshift", str(camera) if camera else None)
        return
    sim.render("redshift", str(camera or "persp"), round(sim.current_time), temp=True)


def renderSettings(**kwargs: Any) -> list[str]:
    """``renderSettings -firstImageName|-lastImageName|-genericFrameImageName S
    [-fullPath|-fullPathTemp] [-layer L] [-camera C]`` (ADSK renderSettings reference):
    the image name of the first (last) frame of the layer, by Maya's own naming
    (:func:`lrc_toolbox.sim.naming.maya_file_name`); relative to the images folder unless
    ``-fullPath`` (``-fullPathTemp``: under the preview folder ``tmp/``)."""
    sim = session()
    first = _flag(kwargs, "firstImageName", "fin")
    last = _flag(kwargs, "lastImageName", "lin")
    generic = _flag(kwargs, "genericFrameImageName", "gin")
    if not (first or last or generic is not None):
        raise MayaError("renderSettings: unsupported flags in the simulator")
    layer = str(_flag(kwargs, "layer", "lyr", default="") or sim.current_layer)
    if sim._layer(layer) is None:
        raise MayaError(f"renderSettings: render layer {layer!r} does not exist")
    renderer = _renderer()
    naming = sim.naming(renderer, layer)
    values = sim.layer_globals(layer)
    frame = round(float(values["endFrame"] if last else values["startFrame"]))
    camera = _flag(kwargs, "camera", "cam")
    if camera is None:
        shapes = sorted(sim.renderable_shapes)
        camera = sim.transform_of(shapes[0]) if shapes else "persp"
    temp = bool(_flag(kwargs, "fullPathTemp", "fpt"))
    path = maya_file_name(
        naming, camera=str(camera), ext=sim.extension("mayaSoftware"), frame=frame, temp=temp
    )
    if generic is not None:
        digits = naming.frame_text(frame)
        head, _, tail = path.rpartition(digits)
        path = head + str(generic) + tail
    if not (_flag(kwargs, "fullPath", "fp") or temp):
        root = naming.images_dir
        path = path[len(root) :].lstrip("/\\") if path.startswith(root) else path
    return [path]


def listConnections(plug: str, **kwargs: Any) -> list[str] | None:
    """Only what MtoA's AOV list needs: the aiAOV nodes connected to
    ``defaultArnoldRenderOptions.aovList`` (short ``aovs``), in index order."""
    sim = session()
    node, _, attr = str(plug).partition(".")
    if node == "defaultArnoldRenderOptions" and attr in ("aovList", "aovs"):
        if not sim.exists(node):
            raise MayaError(f"No object matches name: {plug}")
        return list(sim.aov_nodes()) or None
    if node == "renderLayerManager" and attr in ("renderLayerId", "rlmi"):
        return list(sim.layer_nodes()) or None
    raise MayaError("listConnections: unsupported plug in the simulator")
