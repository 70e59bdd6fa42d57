"""What does a batch cost Maya's GUI thread? The dashboard as in Maya, on the simulator.

Run by hand (not by pytest), offscreen::

    python benchmarks/bench_gui_thread.py                      # (a) 20 s, (b) 100/1,000/10,000
    python benchmarks/bench_gui_thread.py --quick              # (a) 8 s, (b) 100/1,000
    python benchmarks/bench_gui_thread.py --scenario a --seconds 30
    python benchmarks/bench_gui_thread.py --scenario b --sizes 100 1000 10000
    python benchmarks/bench_gui_thread.py --arrangement service   # no baseline

Two arrangements, each in a child process of its own with ONE ``QApplication`` that holds
the real dashboard (``BatchRenderDialog``, shown offscreen), started with
``dialog.start(config)`` as its Start button does:

- ``local`` (the baseline, the old arrangement): a ``BatchRenderAPI`` engine in the same
  ``QApplication`` as the dashboard: the workers' pipes are read, parsed and turned into
  signals on the GUI thread.
- ``service``: a ``ServiceBatchAPI`` as Maya's dashboard makes it (``log_level``
  ``--log-level``, warning by default) fed by the local render service, a real
  ``python -m lrc_toolbox.service`` process started fresh for each scenario in a temp root
  and stopped after it (``Op.SHUTDOWN`` with ``kill``; its pid from
  ``<temp_root>/service/service.json`` is killed if it lingers).

Scenarios, on the simulator (real worker processes, real protocol):

- (a) flood: ``--workers`` (8) simulated GPUs (one more is kept for Maya), each worker
  rendering 1 s frames that print 1,000 progress lines each (the renderer's real Arnold
  format), so about 1,000 lines/s per worker. Measured over ``--seconds`` once every
  worker has started a frame (and ``--warmup`` more).
- (b) tiny frames: batches of ``--sizes`` frames that cost nothing (time scale 0, one
  progress line per frame, no start-up), on ``--batch-workers`` (3) workers, one after the
  other on the same dashboard. Measured from the Start call to the batch's end.

Printed per run: the GUI thread's CPU (``time.thread_time()`` read on the GUI thread) as %
of one core over the window, event-loop lateness p50/p99/max from a ``--probe-ms`` (5 ms)
precise QTimer (each tick's lateness = its interval - 5 ms; the Start call itself, which
blocks the GUI while the batch is planned or the service answers, is reported apart and
left out), the whole dashboard process's CPU (the GUI thread plus the client's socket
reader), the service process's CPU (Linux), for (b) the GUI-thread CPU per finished frame,
and the same lateness from a control: a separate process that only sleeps ``--probe-ms``
in a loop, so a stall the control shows too is the machine's (2 cores shared with the
workers and whatever else runs), not the dashboard's. For the service: the GUI-thread CPU
of each ``ServiceBatchAPI`` delivery tick. Then the goals of issue 13 (item 6) for the
service arrangement, MET or NOT MET, and the ratios local / service.

Finding out why (the figures then include the tools' own cost):

- ``--diagnose``: the GUI thread's stalls (their length and the GUI thread's CPU during
  them: little CPU means the thread waited for a core or the GIL), its Python stacks while
  stalled, every Qt event dispatch over 15 ms, and the CPU of the timer, paint and update
  events per receiver (a ``QApplication.notify`` that times each event).
- ``--profile N``: cProfile of the GUI thread over (a)'s window and (b)'s largest size.
- ``--log-level info``: every worker's renderer lines cross the channel (at most 10 per
  worker per flush), not only the worker the log view shows (``--log-view one``, the
  default, as an artist who picked a worker; ``all``: none picked, warnings only);
  ``--tick-ms``: ``ServiceBatchAPI.TICK_SECONDS`` to compare.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "lrc_toolbox" / "sim" / "scenes" / "shot010_lighting.ma"
LAYER = "BG"

CPU_GOAL = 10.0  # % of one core, scenario (a)
P99_GOAL_MS = 16.0  # one frame at 60 Hz
MAX_GOAL_MS = 100.0
FLAT_GOAL = 1.2  # cost per frame at the largest size / at the smallest

FLOOD_PROFILE = {"startup": 0.0, "jitter": 0.0, "progress_steps": 1000, "default_frame_cost": 1.0}
TINY_PROFILE = {"startup": 0.0, "jitter": 0.0, "progress_steps": 1, "default_frame_cost": 0.0}


# --------------------------------------------------------------------------- helpers


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[index]


def proc_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of another process, from /proc (Linux); None elsewhere."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(native_id: int) -> float:
    """CPU seconds of one thread of this process (Linux /proc), 0.0 elsewhere."""
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StallSampler:
    """``--diagnose``: a thread that, while the GUI thread has not ticked the probe for
    ``threshold`` ms, records where the GUI thread is (its Python stack) and whether it
    burns CPU meanwhile (its /proc CPU time): a stall with CPU is work on the GUI thread;
    one without is the GIL or the OS scheduler."""

    def __init__(self, last: list[float | None], threshold_ms: float = 20.0) -> None:
        import threading

        self.last = last
        self.threshold = threshold_ms / 1000.0
        self.main = threading.main_thread()
        self.stacks: dict[tuple[str, ...], int] = {}
        self.stalls: list[tuple[float, float]] = []  # (stall ms, GUI CPU ms during it)
        self.running = True
        threading.Thread(target=self._run, name="bench-stall-sampler", daemon=True).start()

    def _run(self) -> None:
        import traceback

        in_stall, cpu0, began = False, 0.0, 0.0
        native = self.main.native_id or 0
        while self.running:
            time.sleep(0.002)
            last = self.last[0]
            now = time.perf_counter()
            stalled = last is not None and now - last > self.threshold
            if stalled and not in_stall:
                in_stall, cpu0, began = True, thread_cpu(native), last or now
            elif not stalled and in_stall:
                in_stall = False
                self.stalls.append(((now - began) * 1000, (thread_cpu(native) - cpu0) * 1000))
            if stalled:
                frame = sys._current_frames().get(self.main.ident or 0)
                if frame is not None:
                    stack = traceback.extract_stack(frame)[-6:]
                    key = tuple(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack)
                    self.stacks[key] = self.stacks.get(key, 0) + 1

    def report(self) -> dict[str, Any]:
        self.running = False
        top = sorted(self.stacks.items(), key=lambda kv: -kv[1])[:8]
        return {
            "stalls": sorted(self.stalls, reverse=True)[:15],
            "stacks": [[n, list(k)] for k, n in top],
        }


CONTROL = """
import json, os, sys, time
interval, stop = float(sys.argv[1]) / 1000.0, sys.argv[2]
late, last = [], time.perf_counter()
while not os.path.exists(stop):
    time.sleep(interval)
    now = time.perf_counter()
    late.append(max(0.0, (now - last - interval) * 1000.0))
    last = now
print(json.dumps(late))
"""


class Control:
    """A process of its own (no Qt, no GIL shared with the dashboard) that sleeps
    ``probe_ms`` in a loop and records how late it wakes: what the machine's scheduler
    alone does to a process that asks for the CPU every few ms. A dashboard stall that
    the control shows too is the machine's (2 cores shared with the workers and whatever
    else runs), not the dashboard's."""

    def __init__(self, tmp: Path, probe_ms: int) -> None:
        self.stop = tmp / f"control-stop-{time.monotonic_ns()}"
        self.process = subprocess.Popen(  # noqa: S603 - this Python, an argument list
            [sys.executable, "-c", CONTROL, str(probe_ms), str(self.stop)],
            stdout=subprocess.PIPE,
            text=True,
        )

    def finish(self) -> list[float]:
        self.stop.touch()
        out, _ = self.process.communicate(timeout=30)
        return list(json.loads(out or "[]"))


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs; the service is this process's child: an exited one is reaped."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return False
    except ChildProcessError:
        pass  # not ours, or already reaped
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- child


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """One arrangement, one scenario, in this process: returns the figures."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from Qt import QtCore, QtWidgets

    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.core.service_api import ServiceBatchAPI
    from lrc_toolbox.records.batch import BatchSummary
    from lrc_toolbox.records.models import RenderConfig
    from lrc_toolbox.records.service import Op
    from lrc_toolbox.service.channel import read_info, service_dir
    from lrc_toolbox.ui import style
    from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog

    tmp = Path(spec["tmp"])
    scenario, arrangement = spec["scenario"], spec["arrangement"]
    workers = spec["workers"] if scenario == "a" else spec["batch_workers"]
    slow: list[tuple[float, float, str]] = []  # --diagnose: (wall ms, CPU ms, what)
    events_cpu: dict[str, list[float]] = {}  # --diagnose: "receiver event" -> [count, CPU ms]

    class TimedApplication(QtWidgets.QApplication):
        """Times every event it dispatches (--diagnose only: it costs)."""

        def notify(self, receiver: Any, event: Any) -> bool:
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            try:
                return bool(super().notify(receiver, event))
            finally:
                wall = (time.perf_counter() - wall0) * 1000.0
                cpu = (time.thread_time() - cpu0) * 1000.0
                what = f"{type(receiver).__name__} {int(event.type())}"
                if isinstance(receiver, QtCore.QTimer):
                    try:
                        owner = receiver.parent()
                    except RuntimeError:  # a single-shot timer deleted by its own event
                        owner = None
                    if owner is not None:
                        what += f" of {type(owner).__name__}"
                if wall > 15.0:
                    slow.append((wall, cpu, what))
                if int(event.type()) in (1, 12, 77):  # Timer, Paint (its own), UpdateRequest
                    entry = events_cpu.setdefault(what, [0, 0.0])
                    entry[0] += 1
                    entry[1] += cpu

    app = QtWidgets.QApplication.instance() or (
        TimedApplication([]) if spec.get("diagnose") else QtWidgets.QApplication([])
    )
    style.apply_maya_style(app)
    settings = Settings(
        simulate_gpus=workers + 1,  # one kept for Maya (reserve_gpus)
        temp_root=str(tmp / "temp"),
        job_store_path=str(tmp / "jobs.sqlite"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
    )
    api: BatchRenderAPI
    if spec.get("tick_ms") is not None:
        from lrc_toolbox.core import service_api

        service_api.TICK_SECONDS = spec["tick_ms"] / 1000.0
    if arrangement == "service":
        api = ServiceBatchAPI(
            settings,
            simulate=True,
            follow="all",
            log_level=spec["log_level"],
            attach=False,
            client="bench_gui_thread",
        )
    else:
        api = BatchRenderAPI(settings, simulate=True)
    ticks: list[float] = []  # GUI-thread CPU ms of each ServiceBatchAPI._deliver call
    if isinstance(api, ServiceBatchAPI):
        deliver = api._deliver

        def timed_deliver() -> None:
            began = time.thread_time()
            deliver()
            ticks.append((time.thread_time() - began) * 1000.0)

        api._timer.timeout.disconnect(deliver)
        api._timer.timeout.connect(timed_deliver)
    dialog = BatchRenderDialog(api)
    dialog.resize(1320, 860)
    dialog.show()
    app.processEvents()

    # ---- the probe: a precise timer whose late ticks are the GUI's stalls
    probe_ms = spec["probe_ms"]
    lateness: list[float] = []
    last: list[float | None] = [None]

    def tick() -> None:
        now = time.perf_counter()
        if last[0] is not None:
            lateness.append(max(0.0, (now - last[0]) * 1000.0 - probe_ms))
        last[0] = now

    probe = QtCore.QTimer()
    probe.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    probe.setInterval(probe_ms)
    probe.timeout.connect(tick)
    probe.start()

    def reset_probe() -> None:
        lateness.clear()
        ticks.clear()
        last[0] = None
        if sampler is not None:
            sampler.stacks.clear()
            sampler.stalls.clear()
        slow.clear()
        events_cpu.clear()

    sampler = StallSampler(last) if spec.get("diagnose") else None

    # ---- what the dashboard's api says
    seen: dict[str, Any] = {"started": set(), "finished": 0, "summary": None}

    def on_frame_started(worker: str, _layer: str, _frame: int) -> None:
        seen["started"].add(worker)
        log_view = dialog.progress_widget.log_view
        if spec["log_view"] == "one" and log_view.worker_filter is None:
            log_view.set_worker_filter(worker)  # as the artist picks a worker to watch

    def on_frame_finished(*_args: Any) -> None:
        seen["finished"] += 1

    def on_batch_finished(summary: BatchSummary) -> None:
        seen["summary"] = summary

    api.frame_started.connect(on_frame_started)
    api.frame_finished.connect(on_frame_finished)
    api.batch_finished.connect(on_batch_finished)

    def wait(seconds: float, until: Callable[[], bool] | None = None) -> bool:
        """Run the event loop for ``seconds``, or until ``until()`` (checked every 50 ms)."""
        loop = QtCore.QEventLoop()
        deadline = time.monotonic() + seconds
        check = QtCore.QTimer()
        check.setInterval(50)

        def poll() -> None:
            if (until is not None and until()) or time.monotonic() >= deadline:
                loop.quit()

        check.timeout.connect(poll)
        check.start()
        QtCore.QTimer.singleShot(max(1, int(seconds * 1000)), loop.quit)
        loop.exec() if hasattr(loop, "exec") else loop.exec_()
        check.stop()
        return until() if until is not None else True

    def start(frames: int, out: str) -> float:
        """Start a batch as the Start button does; returns how long the call blocked (ms)."""
        seen["summary"] = None
        seen["started"] = set()
        config = RenderConfig(
            scene=str(SCENE), layers=[LAYER], frames=f"1-{frames}", output_dir=str(tmp / out)
        )
        began = time.perf_counter()
        if not dialog.start(config):
            raise SystemExit(f"the dashboard did not start the batch: {dialog.message_area}")
        return (time.perf_counter() - began) * 1000.0

    def service_pid() -> int | None:
        return api.service_pid if isinstance(api, ServiceBatchAPI) else None

    def latency(values: Sequence[float]) -> dict[str, float]:
        return {
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "max": max(values) if values else float("nan"),
            "ticks": len(values),
        }

    result: dict[str, Any] = {"scenario": scenario, "arrangement": arrangement}
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    gc.collect()
    try:
        if scenario == "a":
            frames = workers * int(spec["warmup"] + spec["seconds"] + 60)
            result["start_ms"] = start(frames, "out-flood")
            reset_probe()
            if not wait(120.0, lambda: len(seen["started"]) >= workers):
                raise SystemExit(f"only {len(seen['started'])} of {workers} workers started")
            wait(spec["warmup"])
            pid = service_pid()
            finished0, service0 = seen["finished"], proc_cpu(pid)
            reset_probe()
            control = Control(tmp, probe_ms)
            wall0, thread0, process0 = time.monotonic(), time.thread_time(), time.process_time()
            if profiler is not None:
                profiler.enable()
            wait(spec["seconds"])
            if profiler is not None:
                profiler.disable()
            wall = time.monotonic() - wall0
            thread = time.thread_time() - thread0
            process = time.process_time() - process0
            service1 = proc_cpu(pid)
            result.update(
                latency=latency(list(lateness)),
                control=latency(control.finish()),
                ticks=latency(list(ticks)),
                wall=wall,
                gui_cpu_pct=100.0 * thread / wall,
                process_cpu_pct=100.0 * process / wall,
                service_cpu_pct=None
                if service0 is None or service1 is None
                else 100.0 * (service1 - service0) / wall,
                # each finished frame printed progress_steps lines (+ a few start/end ones)
                lines_per_worker_s=(seen["finished"] - finished0)
                * FLOOD_PROFILE["progress_steps"]
                / wall
                / workers,
            )
            api.stop_all_renders()
            if not wait(120.0, lambda: seen["summary"] is not None):
                print("warning: the flood batch did not end within 120 s", file=sys.stderr)
        else:
            sizes = []
            for frames in spec["sizes"]:
                pid = service_pid()
                gc.collect()
                service0 = proc_cpu(pid)
                wall0, thread0, process0 = time.monotonic(), time.thread_time(), time.process_time()
                if profiler is not None and frames == spec["sizes"][-1]:
                    profiler.enable()
                start_ms = start(frames, f"out-{frames}")
                service0 = proc_cpu(service_pid()) if service0 is None else service0
                reset_probe()
                control = Control(tmp, probe_ms)
                if not wait(3600.0, lambda: seen["summary"] is not None):
                    raise SystemExit(f"the {frames}-frame batch did not end within an hour")
                if profiler is not None:
                    profiler.disable()
                wall = time.monotonic() - wall0
                thread = time.thread_time() - thread0
                process = time.process_time() - process0
                service1 = proc_cpu(service_pid())
                summary = seen["summary"]
                if summary.done != frames:
                    raise SystemExit(f"the {frames}-frame batch ended with {summary}")
                sizes.append(
                    {
                        "frames": frames,
                        "start_ms": start_ms,
                        "wall": wall,
                        "latency": latency(list(lateness)),
                        "ticks": latency(list(ticks)),
                        "lateness": list(lateness),
                        "control": control.finish(),
                        "gui_cpu": thread,
                        "gui_ms_per_frame": 1000.0 * thread / frames,
                        "gui_cpu_pct": 100.0 * thread / wall,
                        "process_ms_per_frame": 1000.0 * process / frames,
                        "service_ms_per_frame": None
                        if service0 is None or service1 is None
                        else 1000.0 * (service1 - service0) / frames,
                    }
                )
                wait(0.5)  # the dashboard shows the outcome; the service settles
            pooled = [x for s in sizes for x in s.pop("lateness")]
            controls = [x for s in sizes for x in s["control"]]
            for size in sizes:
                size["control"] = latency(size["control"])
            result.update(sizes=sizes, latency=latency(pooled), control=latency(controls))
    finally:
        probe.stop()
        if sampler is not None:
            result["diagnosis"] = sampler.report()
            result["diagnosis"]["slow"] = sorted(slow, reverse=True)[:15]
            result["diagnosis"]["paint"] = sorted(
                ((v[1], v[0], k) for k, v in events_cpu.items()), reverse=True
            )[:12]
        if profiler is not None:
            import io
            import pstats

            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("tottime").print_stats(spec["profile"])
            stats.sort_stats("cumulative").print_stats(spec["profile"])
            result["profile"] = text.getvalue()
        if isinstance(api, ServiceBatchAPI):
            stop_service(api, Path(settings.resolved_temp_root()), Op, read_info, service_dir)
        else:
            api.shutdown()
        dialog.close()
    return result


def stop_service(api: Any, temp_root: Path, op: Any, read_info: Any, service_dir: Any) -> None:
    """Op.SHUTDOWN with kill; then the pid from service.json, if it is still there."""
    info = read_info(service_dir(temp_root))
    pid = info.pid if info is not None else api.service_pid
    client = api._client
    if client is not None:
        try:
            client.request(op.SHUTDOWN, kill=True, timeout=10.0)
        except Exception as exc:  # it is killed below
            print(f"warning: the service did not answer shutdown: {exc}", file=sys.stderr)
    api.shutdown()
    if pid is None:
        return
    deadline = time.monotonic() + 15.0
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        print(f"warning: killing the service {pid}", file=sys.stderr)
        os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- parent


def child(spec: dict[str, Any]) -> dict[str, Any]:
    profile = FLOOD_PROFILE if spec["scenario"] == "a" else TINY_PROFILE
    with tempfile.TemporaryDirectory(prefix=f"lrc-bench-gui-{spec['scenario']}-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LRC_")}
        env.update(
            LRC_SIM_TIME_SCALE="1" if spec["scenario"] == "a" else "0",
            LRC_SIM_CONFIG=json.dumps(profile),
            LRC_PREFS_DIR=str(Path(folder) / "prefs"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        spec = dict(spec, tmp=folder)
        done = subprocess.run(  # noqa: S603 - this Python, an argument list
            [sys.executable, __file__, "--child", json.dumps(spec)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{spec['arrangement']} ({spec['scenario']}) failed: {done.stdout}")
    return dict(json.loads(lines[-1]))


def ms(value: float) -> str:
    return f"{value:7.1f}"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def report_a(runs: dict[str, dict[str, Any]]) -> list[bool]:
    print(
        f"{'(a) flood':<10} {'GUI CPU %':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'proc CPU %':>10} {'svc CPU %':>9} {'lines/s/w':>9} {'start ms':>8} "
        f"{'ctl p99':>7} {'ctl max':>7}"
    )
    for name, run in runs.items():
        lat, svc, ctl = run["latency"], run["service_cpu_pct"], run["control"]
        print(
            f"{name:<10} {run['gui_cpu_pct']:>9.1f} {ms(lat['p50'])} {ms(lat['p99'])} "
            f"{ms(lat['max'])} {run['process_cpu_pct']:>10.1f} "
            f"{'-' if svc is None else f'{svc:.1f}':>9} {run['lines_per_worker_s']:>9.0f} "
            f"{run['start_ms']:>8.0f} {ms(ctl['p99'])} {ms(ctl['max'])}"
        )
    goals = []
    service, local = runs.get("service"), runs.get("local")
    if service is not None and service["ticks"]["ticks"]:
        tick = service["ticks"]
        print(
            f"service: ServiceBatchAPI's delivery ticks, GUI-thread CPU ms: p50 {tick['p50']:.2f}"
            f", p99 {tick['p99']:.2f}, max {tick['max']:.2f} ({tick['ticks']:,} ticks)"
        )
    if service is not None and local is not None:
        print(
            f"local / service: GUI CPU x{local['gui_cpu_pct'] / service['gui_cpu_pct']:.1f}, "
            f"p99 x{local['latency']['p99'] / max(service['latency']['p99'], 1e-3):.1f}, "
            f"max x{local['latency']['max'] / max(service['latency']['max'], 1e-3):.1f}"
        )
    if service is not None:
        lat = service["latency"]
        cpu_ok = service["gui_cpu_pct"] < CPU_GOAL
        p99_ok, max_ok = lat["p99"] < P99_GOAL_MS, lat["max"] < MAX_GOAL_MS
        print(f"goal (a) GUI thread under {CPU_GOAL:.0f} % of a core: {verdict(cpu_ok)}")
        print(f"goal (a) p99 under {P99_GOAL_MS:.0f} ms: {verdict(p99_ok)}")
        print(f"goal (a) max under {MAX_GOAL_MS:.0f} ms: {verdict(max_ok)}")
        goals += [cpu_ok, p99_ok, max_ok]
    return goals


def report_b(runs: dict[str, dict[str, Any]]) -> list[bool]:
    print(
        f"{'(b) tiny':<10} {'frames':>7} {'wall s':>7} {'GUI ms/fr':>9} {'GUI CPU %':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'proc ms/fr':>10} {'svc ms/fr':>9} "
        f"{'start ms':>8} {'ctl p99':>7} {'ctl max':>7}"
    )
    for name, run in runs.items():
        for size in run["sizes"]:
            lat, svc, ctl = size["latency"], size["service_ms_per_frame"], size["control"]
            print(
                f"{name:<10} {size['frames']:>7,} {size['wall']:>7.1f} "
                f"{size['gui_ms_per_frame']:>9.3f} {size['gui_cpu_pct']:>9.1f} "
                f"{ms(lat['p50'])} {ms(lat['p99'])} {ms(lat['max'])} "
                f"{size['process_ms_per_frame']:>10.3f} "
                f"{'-' if svc is None else f'{svc:.3f}':>9} {size['start_ms']:>8.0f} "
                f"{ms(ctl['p99'])} {ms(ctl['max'])}"
            )
        lat, ctl = run["latency"], run["control"]
        print(
            f"{name:<10} {'all':>7} {'':>7} {'':>9} {'':>9} {ms(lat['p50'])} {ms(lat['p99'])} "
            f"{ms(lat['max'])} {'':>10} {'':>9} {'':>8} {ms(ctl['p99'])} {ms(ctl['max'])}"
        )
    goals = []
    for name, run in runs.items():
        sizes = run["sizes"]
        if len(sizes) > 1:
            ratio = sizes[-1]["gui_ms_per_frame"] / max(sizes[0]["gui_ms_per_frame"], 1e-9)
            print(
                f"{name}: GUI cost per frame at {sizes[-1]['frames']:,} / at "
                f"{sizes[0]['frames']:,} frames: x{ratio:.2f}"
            )
    service, local = runs.get("service"), runs.get("local")
    if service is not None:
        for size in service["sizes"]:
            tick = size["ticks"]
            print(
                f"service, {size['frames']:,} frames: delivery ticks, GUI-thread CPU ms: p50 "
                f"{tick['p50']:.2f}, p99 {tick['p99']:.2f}, max {tick['max']:.2f} "
                f"({tick['ticks']:,} ticks)"
            )
    if service is not None and local is not None:
        big_l, big_s = local["sizes"][-1], service["sizes"][-1]
        print(
            f"local / service at {big_s['frames']:,} frames: GUI cost per frame "
            f"x{big_l['gui_ms_per_frame'] / max(big_s['gui_ms_per_frame'], 1e-9):.1f}"
        )
    if service is not None:
        lat, sizes = service["latency"], service["sizes"]
        p99_ok, max_ok = lat["p99"] < P99_GOAL_MS, lat["max"] < MAX_GOAL_MS
        print(f"goal (b) p99 under {P99_GOAL_MS:.0f} ms: {verdict(p99_ok)}")
        print(f"goal (b) max under {MAX_GOAL_MS:.0f} ms: {verdict(max_ok)}")
        goals += [p99_ok, max_ok]
        if len(sizes) > 1:
            ratio = sizes[-1]["gui_ms_per_frame"] / max(sizes[0]["gui_ms_per_frame"], 1e-9)
            flat_ok = ratio <= FLAT_GOAL
            print(
                f"goal (b) cost per frame at {sizes[-1]['frames']:,} within {FLAT_GOAL}x of "
                f"{sizes[0]['frames']:,}: {verdict(flat_ok)} (x{ratio:.2f})"
            )
            goals.append(flat_ok)
    return goals


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scenario", choices=["a", "b", "both"], default="both")
    parser.add_argument("--arrangement", choices=["service", "local", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=20.0, help="(a) measured window")
    parser.add_argument("--warmup", type=float, default=2.0, help="(a) seconds before it")
    parser.add_argument("--workers", type=int, default=8, help="(a) workers")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--batch-workers", type=int, default=3, help="(b) workers")
    parser.add_argument("--probe-ms", type=int, default=5)
    parser.add_argument(
        "--log-level",
        default="warning",
        help="the dashboard's subscription: warning as Maya's dashboard (MainWindow) asks; "
        "info: every worker's renderer lines (the flood the foundation sent)",
    )
    parser.add_argument(
        "--log-view",
        choices=["one", "all"],
        default="one",
        help="one: the log view shows the first worker that starts a frame, so the "
        "dashboard asks the service for that worker's lines; all: no worker chosen",
    )
    parser.add_argument(
        "--diagnose", action="store_true", help="print the GUI thread's stalls and stacks"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="cProfile the GUI thread over (a)'s window and (b)'s largest size; top N",
    )
    parser.add_argument(
        "--tick-ms",
        type=float,
        default=None,
        help="ServiceBatchAPI.TICK_SECONDS in ms (to compare; 1e6: a whole flush a tick)",
    )
    parser.add_argument("--quick", action="store_true", help="(a) 8 s, (b) 100 and 1,000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(json.loads(args.child))), flush=True)
        return 0
    if args.quick:
        args.seconds = min(args.seconds, 8.0)
        args.sizes = [s for s in args.sizes if s <= 1000] or [100, 1000]
    scenarios = ["a", "b"] if args.scenario == "both" else [args.scenario]
    arrangements = ["local", "service"] if args.arrangement == "both" else [args.arrangement]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{os.cpu_count()} cores, load {load:.2f}, Python {sys.version.split()[0]}, "
        f"{os.environ.get('QT_PREFERRED_BINDING', 'Qt')}; (a) {args.workers} workers x "
        f"~1,000 lines/s for {args.seconds:.0f} s; (b) {args.batch_workers} workers, sizes "
        f"{', '.join(f'{s:,}' for s in args.sizes)}; probe {args.probe_ms} ms; dashboard "
        f"log level {args.log_level}, log view on {args.log_view} worker(s)",
        flush=True,
    )
    goals: list[bool] = []
    for scenario in scenarios:
        runs = {}
        for arrangement in arrangements:
            spec = {
                "scenario": scenario,
                "arrangement": arrangement,
                "seconds": args.seconds,
                "warmup": args.warmup,
                "workers": args.workers,
                "batch_workers": args.batch_workers,
                "sizes": args.sizes,
                "probe_ms": args.probe_ms,
                "log_level": args.log_level,
                "log_view": args.log_view,
                "diagnose": args.diagnose,
                "profile": args.profile,
                "tick_ms": args.tick_ms,
            }
            runs[arrangement] = child(spec)
            profile = runs[arrangement].get("profile")
            if profile:
                print(f"\n{arrangement} ({scenario}), the GUI thread:\n{profile}")
            diagnosis = runs[arrangement].get("diagnosis")
            if diagnosis:
                print(f"\n{arrangement} ({scenario}): stalls (ms, GUI CPU ms during it):")
                print("  " + ", ".join(f"{a:.0f}/{c:.0f}" for a, c in diagnosis["stalls"]))
                print("  event dispatches over 15 ms (wall ms, GUI CPU ms, receiver event):")
                for wall, cpu, what in diagnosis["slow"]:
                    print(f"    {wall:.0f} {cpu:.0f} {what}")
                print("  timer, paint and update events (GUI CPU ms in all, count, receiver):")
                for cpu, count, what in diagnosis["paint"]:
                    print(f"    {cpu:.0f} {count:.0f} {what}")
                for count, stack in diagnosis["stacks"]:
                    print(f"  {count:5d} x " + " < ".join(reversed(stack)))
        print()
        goals += report_a(runs) if scenario == "a" else report_b(runs)
    if goals:
        print(f"\ngoals met: {sum(goals)} of {len(goals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
