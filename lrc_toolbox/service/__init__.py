"""The local render service: the engine in its own process beside Maya.

- :mod:`.channel`: where the service listens, its token, its ``service.json``, and the
  framed, user-private connection (standard library only).
- :mod:`.server`: the service (``python -m lrc_toolbox.service``): one
  :class:`~lrc_toolbox.core.batch_render_api.BatchRenderAPI` engine, a queue of batches,
  and the clients attached to it.
- :mod:`.client`: find or start the service, ask it things, read its events (no Qt).

:class:`lrc_toolbox.core.service_api.ServiceBatchAPI` is the ``BatchRenderAPI`` the
dashboard and the CLI use: the same signals, fed from the service.
"""
