"""``maya.standalone`` stand-in: start-up cost, slow start and licence faults."""

from __future__ import annotations

from lrc_toolbox.sim.runtime import session


def initialize(name: str = "python") -> None:
    session().initialize()


def uninitialize() -> None:
    session().initialized = False
