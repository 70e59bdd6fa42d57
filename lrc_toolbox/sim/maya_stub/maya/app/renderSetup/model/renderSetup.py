"""The subset of Maya's Render Setup model API that pipeline code commonly calls.

``renderSetup.instance().getRenderLayers()`` lists the Render Setup layers (not the master
layer), each with ``name()``, ``isRenderable()``, ``setRenderable()`` and
``getCollections()`` (its render-settings collection, what DL's
``unlockRenderSetupOverrides`` walks); ``switchToLayer`` makes one current (Autodesk: "not
officially supported and subject to change").
"""

from __future__ import annotations

from typing import Any

from lrc_toolbox.sim.runtime import session

from .collection import RenderSettingsCollection


class RenderLayer:
    def __init__(self, description: Any) -> None:
        self._layer = description

    def name(self) -> str:
        return str(self._layer.name)

    def isRenderable(self) -> bool:
        node = str(self._layer.node)
        return session().layer_renderable.get(node, bool(self._layer.renderable))

    def setRenderable(self, value: bool) -> None:
        session().layer_renderable[str(self._layer.node)] = bool(value)

    def getCollections(self) -> list[Any]:
        return [RenderSettingsCollection(str(self._layer.node))]

    def legacyRenderLayer(self) -> str:
        return str(self._layer.node)


class RenderSetup:
    def getRenderLayers(self) -> list[RenderLayer]:
        scene = session().scene
        if scene is None:
            return []
        return [RenderLayer(layer) for layer in scene.layers if not layer.master]

    def getRenderLayer(self, name: str) -> RenderLayer:
        for layer in self.getRenderLayers():
            if layer.name() == name:
                return layer
        raise Exception(f"Render layer {name!r} not found")

    def switchToLayer(self, layer: RenderLayer | None) -> None:
        session().switch_layer(layer.legacyRenderLayer() if layer else "defaultRenderLayer")

    def getVisibleRenderLayer(self) -> RenderLayer | None:
        sim = session()
        for layer in self.getRenderLayers():
            if layer.legacyRenderLayer() == sim.current_layer:
                return layer
        return None


_INSTANCE = RenderSetup()


def instance() -> RenderSetup:
    return _INSTANCE
