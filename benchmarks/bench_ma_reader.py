"""Benchmark the streaming .ma reader on a generated 200+ MB scene (run by hand).

    python benchmarks/bench_ma_reader.py [--size-mb 200] [--keep]

Prints the file size, the read time and throughput (MB/s) without tracing, and the
tracemalloc peak of a second, traced read (tracing slows Python down, so the two are
measured separately). The scene is mostly mesh data in long multi-line ``setAttr``
arrays, the way big production scenes are, plus a Render Setup block at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from lrc_toolbox.scene.ma_reader import read_ma

_HEADER = """//Maya ASCII 2024 scene
//Name: bench.ma
//Last modified: Mon, Jan 08, 2024 10:00:00 AM
//Codeset: 1252
requires maya "2024";
requires -nodeType "aiOptions" -nodeType "aiAOVDriver" -nodeType "aiAOVFilter" "mtoa" "5.3.5.1";
currentUnit -l centimeter -a degree -t film;
fileInfo "application" "maya";
fileInfo "product" "Maya 2024";
fileInfo "version" "2024";
createNode transform -s -n "persp";
	setAttr ".v" no;
createNode camera -s -n "perspShape" -p "persp";
	setAttr -k off ".v" no;
	setAttr ".fl" 34.999999999999986;
createNode renderLayerManager -n "renderLayerManager";
	setAttr -s 3 ".rlmi[1:2]"  1 2;
createNode renderLayer -n "defaultRenderLayer";
	setAttr ".g" yes;
	setAttr ".rndr" no;
"""

_TRAILER = """createNode renderSetup -n "renderSetup";
createNode renderSetupLayer -n "BG";
createNode renderLayer -n "rs_BG";
	setAttr ".do" 1;
createNode renderSetupLayer -n "CHAR";
createNode renderLayer -n "rs_CHAR";
	setAttr ".do" 2;
createNode renderSettingsCollection -n "RenderSettingsCollection";
createNode absUniqueOverride -n "endFrame";
	addAttr -ci true -sn "atv" -ln "attrValue" -at "time";
	setAttr ".atr" -type "string" "endFrame";
	setAttr ".tgName" -type "string" "defaultRenderGlobals";
	setAttr ".atv" 24;
select -ne :time1;
	setAttr ".o" 1;
	setAttr ".unw" 1;
select -ne :defaultRenderGlobals;
	setAttr ".ren" -type "string" "arnold";
	setAttr ".an" yes;
	setAttr ".ef" 48;
	setAttr ".ifp" -type "string" "<Scene>/<RenderLayer>/<RenderLayer>";
select -ne :defaultResolution;
	setAttr ".w" 1920;
	setAttr ".h" 1080;
connectAttr "renderLayerManager.rlmi[0]" "defaultRenderLayer.rlid";
connectAttr "BG.msg" "renderSetup.frl";
connectAttr "rs_BG.msg" "BG.lrl";
connectAttr "renderSetup.lit" "BG.pls";
connectAttr "renderLayerManager.rlmi[1]" "rs_BG.rlid";
connectAttr "rs_CHAR.msg" "CHAR.lrl";
connectAttr "BG.nxt" "CHAR.prv";
connectAttr "renderSetup.lit" "CHAR.pls";
connectAttr "renderLayerManager.rlmi[2]" "rs_CHAR.rlid";
connectAttr "CHAR.lit" "RenderSettingsCollection.pls";
connectAttr "RenderSettingsCollection.lit" "endFrame.pls";
// End of bench.ma
"""


def _mesh_block(vertices: int, seed: int) -> str:
    """One mesh node: vertex, edge and UV arrays wrapped the way Maya writes them."""
    rng = random.Random(seed)
    numbers = [f"{rng.uniform(-100, 100):.9g}" for _ in range(vertices * 3)]
    rows = [" ".join(numbers[i : i + 12]) for i in range(0, len(numbers), 12)]
    edges = " ".join(f"{i} {i + 1} 0" for i in range(vertices - 1))
    uvs = [f"{rng.random():.8f}" for _ in range(vertices * 2)]
    uv_rows = [" ".join(uvs[i : i + 10]) for i in range(0, len(uvs), 10)]
    return (
        'createNode transform -n "geo_@";\n'
        '\tsetAttr ".t" -type "double3" 0 0 0 ;\n'
        'createNode mesh -n "geo_@Shape" -p "geo_@";\n'
        '\tsetAttr -k off ".v";\n'
        '\tsetAttr ".uvst[0].uvsn" -type "string" "map1";\n'
        f'\tsetAttr -s {vertices} ".uvst[0].uvsp[0:{vertices - 1}]" -type "float2" '
        + "\n\t\t ".join(uv_rows)
        + ";\n"
        f'\tsetAttr -s {vertices} ".vt[0:{vertices - 1}]"  ' + "\n\t\t ".join(rows) + ";\n"
        f'\tsetAttr -s {vertices - 1} ".ed[0:{vertices - 2}]"  {edges};\n'
        '\tsetAttr ".dcc" -type "string" "Ambient+Diffuse";\n'
    )


def write_scene(path: Path, size_mb: int) -> int:
    """Write a scene of about ``size_mb`` MB quickly (one block, renamed) and return bytes."""
    block = _mesh_block(20_000, seed=1)
    target = size_mb * 1024 * 1024
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(_HEADER)
        index = 0
        while written < target:
            text = block.replace("@", str(index))
            handle.write(text)
            written += len(text)
            index += 1
        handle.write(_TRAILER)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    """Generate, read untraced (speed) and traced (peak memory), print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="lrc_bench_"))
    scene = folder / "bench.ma"
    start = time.perf_counter()
    size = write_scene(scene, args.size_mb)
    print(f"generated {size / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s: {scene}")

    start = time.perf_counter()
    description = read_ma(scene)
    seconds = time.perf_counter() - start
    print(f"read: {seconds:.2f} s, {size / 1e6 / seconds:.0f} MB/s (untraced)")

    tracemalloc.start()
    start = time.perf_counter()
    read_ma(scene)
    traced = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"tracemalloc peak: {peak / 1e6:.2f} MB (traced read took {traced:.1f} s)")
    print(
        "layers:",
        ", ".join(
            f"{x['name']} [{x['node']}] {x['frames']}" for x in description.to_dict()["layers"]
        ),
    )
    if description.warnings:
        print("warnings:", *description.warnings, sep="\n  ")
    if not args.keep:
        scene.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
