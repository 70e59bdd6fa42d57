"""``maya.app.renderSetup.model.collection`` stand-in: the collection classes the worker
tells apart (DL ``DeadlineMayaBatchFunctions.unlockRenderSetupOverrides`` checks for a
``RenderSettingsCollection``)."""

from __future__ import annotations

from typing import Any

from lrc_toolbox.sim.runtime import session


class Override:
    """A render-settings override of one layer: ``targetNodeName``, ``attributeName``,
    ``isSelfEnabled``/``setSelfEnabled`` as in Render Setup's override model."""

    def __init__(self, layer_node: str, plug: str) -> None:
        self._layer = layer_node
        self._plug = plug

    def targetNodeName(self) -> str:
        return self._plug.partition(".")[0]

    def attributeName(self) -> str:
        return self._plug.partition(".")[2]

    def isSelfEnabled(self) -> bool:
        return self._plug not in session().disabled.get(self._layer, set())

    def setSelfEnabled(self, value: bool) -> None:
        if not value:
            session().disable_override(self._layer, self._plug)
        else:
            session().disabled.get(self._layer, set()).discard(self._plug)

    def isLocked(self) -> bool:
        return self._plug in session().locked_plugs(self._layer)


class Collection:
    """A Render Setup collection (only render-settings collections are modelled)."""

    def __init__(self, layer_node: str) -> None:
        self._layer = layer_node

    def getOverrides(self) -> list[Any]:
        return []


class RenderSettingsCollection(Collection):
    """The layer's render-settings collection: one override per overridden plug."""

    def getOverrides(self) -> list[Any]:
        sim = session()
        layer = sim._layer(self._layer)
        if layer is None or layer.legacy:
            return []  # legacy layers have adjustments, not Render Setup overrides
        return [Override(self._layer, plug) for plug in sim.overridden_plugs(self._layer)]
