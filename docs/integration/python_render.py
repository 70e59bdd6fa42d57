"""Plain Python: render a batch and print progress (no Qt application needed).

python docs/integration/python_render.py SCENE --frames 1-24 [--layers BG,CHAR] [--simulate]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lrc_toolbox import api


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scene")
    parser.add_argument("--frames", default="")
    parser.add_argument("--layers", default="all")
    parser.add_argument("--output")
    parser.add_argument("--simulate", action="store_true")
    args = parser.parse_args(argv)

    def on_event(name: str, data: dict[str, Any]) -> None:
        if name == "frame_finished":
            print(f"{data['layer']} frame {data['frame']} done", flush=True)
        elif name == "frame_failed" and not data["retry"]:
            print(f"{data['layer']} frame {data['frame']} FAILED: {data['reason']}", flush=True)

    config = {
        "scene": args.scene,
        "frames": args.frames,
        "layers": "all" if args.layers == "all" else args.layers.split(","),
        "output_dir": args.output,
    }
    try:
        summary = api.render(config, on_event=on_event, simulate=args.simulate)
    except (api.BatchError, api.ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    print(f"{summary['state']}: {summary['done']} done, {summary['failed']} failed")
    return 0 if summary["state"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
