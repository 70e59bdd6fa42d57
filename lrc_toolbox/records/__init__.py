"""The ground floor: the typed records every layer shares, and nothing else.

``models`` (configuration, hardware, live status and the enums), ``batch`` (a batch's plan,
overrides, frame outcomes and summary, with the facts derived from them), ``protocol`` (the
worker <-> manager JSON lines), ``frame_parser`` (the frame-list syntax) and ``renderers``
(the supported renderers and their facts). This package imports nothing else from
``lrc_toolbox`` (a test checks), so the scene reader, the worker inside mayapy, the engine,
the command line and the dashboard can all depend on it.
"""
