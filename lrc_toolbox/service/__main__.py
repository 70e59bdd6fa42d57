"""``python -m lrc_toolbox.service``: run the local render service (started on demand by
the dashboard, the CLI and the Python API; see :mod:`lrc_toolbox.service.server`).

Settings come as for every command (preferences file, ``LRC_*`` variables: the starter
passes its own). Exit 0 when another live service already holds the folder's lock.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from lrc_toolbox import __version__
from lrc_toolbox.config.batch_render_defaults import load_settings
from lrc_toolbox.core.batch_lock import process_start_time
from lrc_toolbox.core.batch_render_api import BatchRenderAPI
from lrc_toolbox.core.qt_compat import exec_loop
from lrc_toolbox.core.qtcore import QtCore
from lrc_toolbox.records.service import PROTOCOL
from lrc_toolbox.service.channel import (
    ServiceInfo,
    ServiceLock,
    address_for,
    listen,
    new_token,
    remove_info,
    service_dir,
    write_info,
)
from lrc_toolbox.service.server import RenderService, install_stop_signals


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrc_toolbox.service")
    parser.add_argument("--simulate", action="store_true", help="simulated mayapy workers")
    parser.add_argument(
        "--idle-seconds", type=float, default=None, help="exit after this long with nothing to do"
    )
    args = parser.parse_args(argv)
    loaded = load_settings()
    settings = loaded.settings
    for warning in loaded.warnings:
        print(f"warning: {warning}", flush=True)
    folder = service_dir(settings.resolved_temp_root())
    lock = ServiceLock(folder)
    if not lock.acquire():
        print(f"a render service already runs for {folder}", flush=True)
        return 0
    address, family = address_for(folder)
    listener = listen(address, family)
    try:
        token = new_token(folder)
        app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication(sys.argv[:1])
        api = BatchRenderAPI(settings, simulate=args.simulate)
        idle = settings.service_idle_seconds if args.idle_seconds is None else args.idle_seconds
        service = RenderService(
            api, listener, token, idle_seconds=idle, on_exit=app.quit, simulate=args.simulate
        )
        service.info_folder = folder
        install_stop_signals(service)
        service.start()
        pid = os.getpid()
        write_info(
            folder,
            ServiceInfo(
                pid=pid,
                version=__version__,
                protocol=PROTOCOL,
                address=address,
                family=family,
                started=process_start_time(pid),
                simulate=args.simulate,
            ),
        )
        print(f"render service {pid} (lrc_toolbox {__version__}) listens at {address}", flush=True)
        exec_loop(app)
        print(f"render service {pid} exits", flush=True)
        return 0
    finally:
        remove_info(folder, os.getpid())
        with contextlib.suppress(OSError):
            listener.close()
        if family == "AF_UNIX":
            with contextlib.suppress(OSError):
                os.unlink(address)
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
