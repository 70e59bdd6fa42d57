"""Does the progress panel keep Maya responsive under a log flood? (run by hand, offscreen)

    python benchmarks/bench_ui.py                 # 20 s per implementation
    python benchmarks/bench_ui.py --seconds 10    # quicker

Workload: 8 simulated workers x 1,000 log lines per second each, plus frame state changes
(every worker finishes a frame every 50 ms and starts the next; one in 40 fails and is
retried) on a plan of 4 layers x 1,000 frames, for ``--seconds``.

The lines are emitted from a 10 ms QTimer IN THE GUI THREAD, through a QObject with
``BatchRenderAPI``'s signals. That is how the real engine delivers them: the process
manager reads the workers' pipes (QProcess) in the GUI thread and emits ``log_message``
once per line, so each line is a direct slot call there. Emitting from another thread
would instead measure Qt's queued-event machinery (one posted event per line) and GIL
hand-offs, which the real engine never pays. The generator keeps the true rate: each tick
emits every line due since the start (at most 0.25 s worth per tick, so a too-slow view
makes the delivered rate fall, which is reported, rather than spiral).

Measured, in one child process per implementation (so memory figures do not mix):
- event-loop lateness: a 10 ms precise QTimer records how late each tick comes
  (interval - 10 ms); p50, p99 and max. A blocked Maya UI shows up here.
- process RSS (psutil) every 2 s: flat for a bounded view, growing for an unbounded one.
- CPU seconds used per second, and the lines actually delivered per second.

Implementations, same flood:
- ``widget``: RenderProgressWidget (buffered, one batch per 100 ms, 5,000-line window,
  self-painted frame strip).
- ``naive``: a QPlainTextEdit with appendPlainText per line (no batching, no line cap), and
  a label rewritten on every frame change.

Prints a table with the ratios naive / widget. Targets for the widget: p99 < 50 ms, flat
memory (under 10 MB between the 2 s sample and the end).

    python benchmarks/bench_ui.py --thumbnails    # the event loop while thumbnails load

Thumbnails: 200 finished frames (2048 x 1080 PNG, TIFF and JPEG files written by QImage to
a temporary folder before the clock starts, each frame its own file) are fed to a
``FramePreview`` at 100 frames per second over 4 layers, and every one of them is also
requested from its ``ThumbnailLoader`` (as if the artist swept the strip: all 200 are
decoded, not only the latest per layer). A 5 ms precise QTimer records the event loop's
lateness until every thumbnail has arrived (and at least ``--thumb-seconds``). The
baseline, in its own child process in the same run, is the same probe with the loop idle
for as long. Goal: p99 under 50 ms while thumbnails load.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

WORKERS = 8
LAYERS = {"BG": "1-1000", "CHAR": "1-1000", "FX": "1-1000", "SKY": "1-1000"}
PROBE_MS = 10
FRAME_EVERY_S = 0.05
SAMPLE_EVERY_S = 2.0
P99_TARGET_MS = 50.0
FLAT_MB = 10.0

_LINES = (
    ("info", "Rendering block {n}/256 of frame {f} ({w})"),
    ("info", "    Progressive rendering: pass {n} of 512, 14 ms"),
    ("debug", "Texture cache: {n} MB in use, 3 tiles loaded"),
    ("info", "Block {n} rendered by {w} in 3 ms"),
    ("warning", "Warning: texture 'wood_{n}.tx' has no mip-maps"),
    ("info", "Redshift: scene extraction took 0.{n:03d} s"),
    ("error", "Error: shader 'glass_{n}' failed to compile; using the default"),
    ("info", "Rendering time: 0h:0m:{n:02d}s (1 GPU(s) used)"),
)


# --------------------------------------------------------------------------- child


def run_child(impl: str, seconds: float, rate: int, max_lines: int) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    import psutil
    from Qt import QtCore, QtWidgets

    from lrc_toolbox.core.qt_compat import emit_signal
    from lrc_toolbox.records.batch import BatchPlan, PlannedWorker
    from lrc_toolbox.records.frame_parser import parse_frames
    from lrc_toolbox.records.models import RenderConfig
    from lrc_toolbox.ui import style

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    style.apply_maya_style(app)

    class FloodApi(QtCore.QObject):
        batch_started = QtCore.Signal(str, object)
        frame_started = QtCore.Signal(str, str, int)
        frame_finished = QtCore.Signal(str, str, int, object)
        frame_failed: QtCore.Signal[tuple[str, str, int, str, bool]] = QtCore.Signal(
            str, str, int, str, bool
        )
        log_message = QtCore.Signal(float, str, str, str)
        batch_finished = QtCore.Signal(object)

    api = FloodApi()
    frames = {layer: parse_frames(text) for layer, text in LAYERS.items()}
    plan = BatchPlan(
        config=RenderConfig(scene="bench.ma"),
        scene_name="bench",
        renderer="redshift",
        frames_by_layer=frames,
        workers=[PlannedWorker(id=f"gpu{i}", device=f"GPU {i}") for i in range(WORKERS)],
    )

    if impl == "widget":
        from lrc_toolbox.ui.dialogs.render_progress_widget import RenderProgressWidget

        panel = RenderProgressWidget(max_lines=max_lines)
        panel.connect_api(api)
        widget: QtWidgets.QWidget = panel
    else:
        widget = _naive_widget(api)
    widget.resize(1400, 900)
    widget.show()
    app.processEvents()
    emit_signal(api, "batch_started", "bench", plan)

    # the work queue: every frame of every layer, handed to workers in turn
    queue = [(layer, frame) for layer, fs in frames.items() for frame in fs]
    running: dict[str, tuple[str, int]] = {}
    process = psutil.Process()
    state: dict[str, Any] = {"emitted": 0, "frame_events": 0, "next_frame": 0.0, "tick": 0}
    lateness: list[float] = []
    samples: list[tuple[float, float, int]] = []

    # start-up garbage (imports, widget creation) is collected now, not billed to the flood
    gc.collect()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    clock = time.perf_counter
    start = clock()
    cpu_start = process.cpu_times()
    state["last_probe"] = start
    state["next_sample"] = start

    def flood() -> None:
        now = clock()
        due = int((now - start) * rate) - state["emitted"]
        due = min(due, int(rate * 0.25))
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit = functools.partial(emit_signal, api, "log_message")
        wall = time.time()
        n = state["emitted"]
        for i in range(due):
            worker = f"gpu{(n + i) % WORKERS}"
            level, template = _LINES[(n + i) % len(_LINES)]
            current = running.get(worker, ("", 0))[1]
            emit(wall, level, worker, template.format(n=(n + i) % 1000, f=current, w=worker))
        state["emitted"] = n + due
        # frames: each worker finishes one every FRAME_EVERY_S and starts the next
        while state["next_frame"] <= now - start and queue:
            state["next_frame"] += FRAME_EVERY_S / WORKERS
            worker = f"gpu{state['tick'] % WORKERS}"
            state["tick"] += 1
            if worker in running:
                layer, frame = running.pop(worker)
                if state["tick"] % 40 == 0:
                    emit_signal(api, "frame_failed", worker, layer, frame, "CUDA error", True)
                    queue.append((layer, frame))
                else:
                    emit_signal(
                        api, "frame_finished", worker, layer, frame, [f"/out/{layer}.{frame}.exr"]
                    )
                state["frame_events"] += 1
            if queue:
                layer, frame = queue.pop(0)
                running[worker] = (layer, frame)
                emit_signal(api, "frame_started", worker, layer, frame)
                state["frame_events"] += 1

    def probe() -> None:
        now = clock()
        lateness.append(max(0.0, (now - state["last_probe"]) * 1000.0 - PROBE_MS))
        state["last_probe"] = now
        if now >= state["next_sample"]:
            samples.append((now - start, process.memory_info().rss / 2**20, state["emitted"]))
            state["next_sample"] += SAMPLE_EVERY_S
        if now - start >= seconds:
            app.quit()

    flood_timer = QtCore.QTimer()
    flood_timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    flood_timer.timeout.connect(flood)
    flood_timer.start(10)
    probe_timer = QtCore.QTimer()
    probe_timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    probe_timer.timeout.connect(probe)
    probe_timer.start(PROBE_MS)
    run = getattr(app, "exec", None) or app.exec_
    run()
    elapsed = clock() - start
    cpu_end = process.cpu_times()
    flood_timer.stop()
    probe_timer.stop()
    samples.append((elapsed, process.memory_info().rss / 2**20, state["emitted"]))
    lateness.sort()
    import Qt

    return {
        "impl": impl,
        "binding": f"{Qt.__binding__} {Qt.__binding_version__}",
        "seconds": elapsed,
        "lines": state["emitted"],
        "frame_events": state["frame_events"],
        "p50": statistics.median(lateness),
        "p99": lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))],
        "max": lateness[-1],
        "ticks": len(lateness),
        "cpu": (cpu_end.user + cpu_end.system - cpu_start.user - cpu_start.system) / elapsed,
        "rss": samples,
        "held": _held_lines(widget),
        "load": (load_before, os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")),
    }


def _naive_widget(api: Any) -> Any:
    """The obvious implementation: one appendPlainText per line, a label per frame event."""
    from Qt import QtWidgets

    widget = QtWidgets.QWidget()
    text = QtWidgets.QPlainTextEdit()
    text.setReadOnly(True)
    label = QtWidgets.QLabel()
    layout = QtWidgets.QVBoxLayout(widget)
    layout.addWidget(label)
    layout.addWidget(text, 1)
    states: dict[tuple[str, int], str] = {}

    def on_log(timestamp: float, level: str, worker: str, line: str) -> None:
        clock = time.strftime("%H:%M:%S", time.localtime(timestamp))
        text.appendPlainText(f"{clock}  {worker:<8}  {line}")

    def on_state(layer: str, frame: int, state: str) -> None:
        states[(layer, frame)] = state
        done = sum(1 for s in states.values() if s == "done")
        label.setText(f"{done} frames done; {layer} frame {frame}: {state}")

    api.log_message.connect(on_log)
    api.frame_started.connect(lambda w, layer, f: on_state(layer, f, "running"))
    api.frame_finished.connect(lambda w, layer, f, o: on_state(layer, f, "done"))
    api.frame_failed.connect(
        lambda w, layer, f, r, retry: on_state(layer, f, "pending" if retry else "failed")
    )
    return widget


def _held_lines(widget: Any) -> int:
    log_view = getattr(widget, "log_view", None)
    if log_view is not None:
        return int(log_view.line_count)
    from Qt import QtWidgets

    return int(widget.findChild(QtWidgets.QPlainTextEdit).document().blockCount())


# ------------------------------------------------------------------ thumbnails child

THUMB_FRAMES = 200
THUMB_SIZE = (2048, 1080)
THUMB_FORMATS = ("png", "tif", "jpg")
THUMB_PROBE_MS = 5
THUMB_FEED_PER_S = 100
THUMB_P99_GOAL_MS = 50.0


def run_thumbnail_child(impl: str, seconds: float) -> dict[str, Any]:
    """``idle``: the probe alone; ``thumbnails``: the probe while 200 frames load."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    import shutil
    import tempfile

    from Qt import QtCore, QtGui, QtWidgets

    from lrc_toolbox.ui import style
    from lrc_toolbox.ui.widgets.frame_preview import FramePreview

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    style.apply_maya_style(app)
    folder = Path(tempfile.mkdtemp(prefix="lrc-bench-thumbs-"))
    paths: list[tuple[str, int, str]] = []
    try:
        if impl == "thumbnails":
            sources = []
            for fmt in THUMB_FORMATS:  # one picture per format, copied to each frame's file
                image = QtGui.QImage(*THUMB_SIZE, QtGui.QImage.Format.Format_RGB32)
                gradient = QtGui.QLinearGradient(0, 0, THUMB_SIZE[0], THUMB_SIZE[1])
                gradient.setColorAt(0, QtGui.QColor("#203040"))
                gradient.setColorAt(1, QtGui.QColor("#e0a060"))
                painter = QtGui.QPainter(image)
                painter.fillRect(image.rect(), QtGui.QBrush(gradient))
                painter.setPen(QtGui.QColor("#ffffff"))
                for line in range(0, THUMB_SIZE[1], 9):  # detail, so files are not trivial
                    painter.drawLine(0, line, THUMB_SIZE[0], THUMB_SIZE[1] - line)
                painter.end()
                source = folder / f"source.{fmt}"
                if not image.save(str(source)):
                    raise RuntimeError(f"Qt cannot write .{fmt} here")
                sources.append(source)
            layers = ("BG", "CHAR", "FX", "SKY")
            for i in range(THUMB_FRAMES):
                source = sources[i % len(sources)]
                layer = layers[i % len(layers)]
                target = folder / layer / f"shot.{i + 1:04d}{source.suffix}"
                target.parent.mkdir(exist_ok=True)
                shutil.copyfile(source, target)
                paths.append((layer, i + 1, str(target)))
        preview = FramePreview()
        preview.resize(260, 240)
        preview.show()
        arrived: set[str] = set()
        preview.loader.ready.connect(lambda thumb: arrived.add(thumb.path))
        app.processEvents()
        gc.collect()

        clock = time.perf_counter
        lateness: list[float] = []
        state: dict[str, Any] = {"fed": 0, "done_at": None}
        start = clock()
        state["last"] = start

        def feed() -> None:
            due = min(len(paths), int((clock() - start) * THUMB_FEED_PER_S))
            while state["fed"] < due:
                layer, frame, path = paths[state["fed"]]
                preview.frame_done(layer, frame, [path])
                preview.loader.request(path)
                state["fed"] += 1

        def probe() -> None:
            now = clock()
            lateness.append(max(0.0, (now - state["last"]) * 1000.0 - THUMB_PROBE_MS))
            state["last"] = now
            if state["done_at"] is None and len(arrived) >= len(paths):
                state["done_at"] = now - start
            finished = now - start >= seconds and state["done_at"] is not None
            if finished or now - start >= 120:  # 120 s: a safety stop, reports what arrived
                app.quit()

        feed_timer = QtCore.QTimer()
        feed_timer.timeout.connect(feed)
        feed_timer.start(10)
        probe_timer = QtCore.QTimer()
        probe_timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        probe_timer.timeout.connect(probe)
        probe_timer.start(THUMB_PROBE_MS)
        run = getattr(app, "exec", None) or app.exec_
        run()
        elapsed = clock() - start
        feed_timer.stop()
        probe_timer.stop()
        preview.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lateness.sort()
    import Qt

    return {
        "impl": impl,
        "binding": f"{Qt.__binding__} {Qt.__binding_version__}",
        "seconds": elapsed,
        "frames": len(paths),
        "arrived": len(arrived),
        "all_in": state["done_at"],
        "p50": statistics.median(lateness),
        "p99": lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))],
        "max": lateness[-1],
        "ticks": len(lateness),
    }


def print_thumbnail_report(idle: dict[str, Any], loading: dict[str, Any]) -> None:
    print(
        f"thumbnails: {loading['frames']} frames of {THUMB_SIZE[0]} x {THUMB_SIZE[1]} "
        f"({', '.join(THUMB_FORMATS)}) fed at {THUMB_FEED_PER_S}/s and all decoded; probe every "
        f"{THUMB_PROBE_MS} ms; offscreen, {loading['binding']}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs"
    )
    all_in = loading["all_in"]
    arrived = f"{loading['arrived']} / {loading['frames']} thumbnails arrived"
    print(arrived + (f", the last after {all_in:.2f} s" if all_in is not None else " (stopped)"))
    print()
    print(
        f"| {'event-loop lateness':30} | {'idle':>10} | {'loading':>10} | {'loading / idle':>14} |"
    )
    print(f"|{'-' * 32}|{'-' * 12}|{'-' * 12}|{'-' * 16}|")
    for label, key in (("p50 (ms)", "p50"), ("p99 (ms)", "p99"), ("max (ms)", "max")):
        print(
            f"| {label:30} | {idle[key]:>10.2f} | {loading[key]:>10.2f} "
            f"| {_ratio(loading[key], idle[key]):>14} |"
        )
    print()
    ok = loading["p99"] < THUMB_P99_GOAL_MS and loading["arrived"] == loading["frames"]
    print(
        f"p99 while loading {loading['p99']:.2f} ms    goal < {THUMB_P99_GOAL_MS:g} ms  "
        + ("met" if ok else "MISSED")
    )


# --------------------------------------------------------------------------- parent


def _growth(result: dict[str, Any]) -> float:
    """RSS change from the first sample at or after 2 s to the end, in MB."""
    samples = [s for s in result["rss"] if s[0] >= SAMPLE_EVERY_S - 0.05] or result["rss"]
    return float(samples[-1][1] - samples[0][1])


def _ratio(a: float, b: float) -> str:
    return f"{a / b:,.1f}x" if b > 0 else "-"


def print_report(widget: dict[str, Any], naive: dict[str, Any], args: argparse.Namespace) -> None:
    per_s = WORKERS * args.rate
    print(
        f"flood: {WORKERS} workers x {args.rate:,} lines/s = {per_s:,} lines/s for "
        f"{args.seconds:g} s, plus frame events on 4 layers x 1,000 frames; offscreen, "
        f"{widget['binding']}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    for result in (widget, naive):
        before, after = result["load"]
        print(f"machine load average during {result['impl']}: {before:.2f} -> {after:.2f}")
    print()
    rows = [
        ("lines delivered per second", "lps", "{:,.0f}", False),
        ("frame events per second", "fps", "{:,.0f}", False),
        ("lines held at the end", "held", "{:,}", True),
        ("event-loop lateness p50 (ms)", "p50", "{:.2f}", True),
        ("event-loop lateness p99 (ms)", "p99", "{:.2f}", True),
        ("event-loop lateness max (ms)", "max", "{:.2f}", True),
        ("CPU seconds per second", "cpu", "{:.2f}", True),
        ("RSS at the end (MB)", "rss_end", "{:.1f}", True),
        ("RSS growth after 2 s (MB)", "growth", "{:+.1f}", False),
    ]
    for result in (widget, naive):
        result["lps"] = result["lines"] / result["seconds"]
        result["fps"] = result["frame_events"] / result["seconds"]
        result["rss_end"] = result["rss"][-1][1]
        result["growth"] = _growth(result)
    print(f"| {'':30} | {'widget':>12} | {'naive':>12} | {'naive / widget':>14} |")
    print(f"|{'-' * 32}|{'-' * 14}|{'-' * 14}|{'-' * 16}|")
    for label, key, fmt, with_ratio in rows:
        ratio = _ratio(naive[key], widget[key]) if with_ratio else ""
        print(
            f"| {label:30} | {fmt.format(widget[key]):>12} | {fmt.format(naive[key]):>12} "
            f"| {ratio:>14} |"
        )
    print()
    print("RSS (MB) every 2 s:")
    for result in (widget, naive):
        series = "  ".join(f"{t:4.1f}s {mb:6.1f}" for t, mb, _ in result["rss"])
        print(f"  {result['impl']:6} {series}")
    print()
    p99_ok = widget["p99"] < P99_TARGET_MS
    flat_ok = abs(widget["growth"]) < FLAT_MB
    print(f"widget p99 {widget['p99']:.2f} ms    target < {P99_TARGET_MS:g} ms  ", end="")
    print("ok" if p99_ok else "MISSED")
    print(f"widget RSS growth {widget['growth']:+.1f} MB  target flat (< {FLAT_MB:g} MB)  ", end="")
    print("ok" if flat_ok else "MISSED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=1000, help="lines per second per worker")
    parser.add_argument("--max-lines", type=int, default=5000)
    parser.add_argument(
        "--thumbnails", action="store_true", help="the event loop while thumbnails load"
    )
    parser.add_argument(
        "--thumb-seconds", type=float, default=3.0, help="the least time each thumbnail run takes"
    )
    parser.add_argument(
        "--impl", choices=("widget", "naive", "idle", "thumbnails"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.impl in ("idle", "thumbnails"):
        print("RESULT " + json.dumps(run_thumbnail_child(args.impl, args.seconds)))
        return 0
    if args.impl:  # child: one implementation, result as one JSON line
        result = run_child(args.impl, args.seconds, WORKERS * args.rate, args.max_lines)
        print("RESULT " + json.dumps(result))
        return 0
    results: dict[str, dict[str, Any]] = {}
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    impls = ("thumbnails", "idle") if args.thumbnails else ("widget", "naive")
    for impl in impls:
        seconds = args.seconds
        if impl == "thumbnails":
            seconds = args.thumb_seconds
        elif impl == "idle":  # the baseline runs as long as the loading run took
            seconds = results["thumbnails"]["seconds"]
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--impl",
            impl,
            "--seconds",
            str(seconds),
            "--rate",
            str(args.rate),
            "--max-lines",
            str(args.max_lines),
        ]
        print(f"running {impl} ...", file=sys.stderr, flush=True)
        # our own interpreter running this very script: no untrusted input
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, env=env, check=False
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            print(f"{impl} failed (exit {done.returncode}):\n{done.stderr}", file=sys.stderr)
            return 1
        results[impl] = json.loads(lines[-1][len("RESULT ") :])
    if args.thumbnails:
        print_thumbnail_report(results["idle"], results["thumbnails"])
        return 0
    print_report(results["widget"], results["naive"], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
