"""Peak memory of the trainer's retrieval step (#30 defect 1): build the index, then search Q queries.

What ``trainer._build_retrieval`` does at the end of a run: the training split's pooled embeddings
(fp16 shards of a feature cache, memory-mapped) become the index, then the calibration split's
queries are searched (``fit_threshold``) and the test split's. Each measurement runs in its own
process (peak RSS, ``ru_maxrss``, cannot be reset inside one), on N random unit vectors of the
real embedding size:

* ``bounded``: this code (index filled block by block from the shards; search in query x gallery
  blocks);
* ``before``: the code before #30, reproduced here as the reference: the whole gallery concatenated,
  masked, converted to float32, normalised and then to fp16; all queries against 262,144 gallery
  rows in one product.

The table gives the median peak RSS and the spread over repeats, and the growth per 1,000 queries;
the per-million figure is the slope between two gallery sizes (bounded, smallest Q), which is what
a larger training set adds.

python -m benchmarks.bench_retrieval_memory                       # N = 300k, D = 768, Q = 500 / 2,000 / 4,000
python -m benchmarks.bench_retrieval_memory --reps 1 --n 30000    # a quick look
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import machine_info

SHARD = 4096  # the feature cache's default shard size
OLD_CHUNK = 262_144


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def make_gallery(folder: Path, n: int, dim: int, seed: int = 0) -> None:
    """fp16 unit vectors in cache-sized shards, and a validity mask (1 % invalid, as decode failures)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for shard, start in enumerate(range(0, n, SHARD)):
        rows = rng.standard_normal((min(SHARD, n - start), dim)).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        np.save(folder / f"pooled_{shard:05d}.npy", rows.astype(np.float16))
    np.save(folder / "valid.npy", rng.random(n) > 0.01)


def child(folder: Path, mode: str, queries: int) -> dict:
    """One measurement, in this (fresh) process."""
    import numpy as np
    import torch

    from geoloc_core.model.retrieval import RetrievalIndex

    torch.manual_seed(1)
    imports = _peak_rss_mib()
    paths = sorted(folder.glob("pooled_*.npy"))
    shards = (np.load(p, mmap_mode="r") for p in paths)  # one at a time, as FeatureCache.pooled_shards gives them
    valid = np.load(folder / "valid.npy")
    lat = lon = np.zeros(int(valid.sum()), dtype=np.float32)
    started = time.perf_counter()
    if mode == "bounded":
        index = RetrievalIndex.build(shards, lat, lon, keep=valid)
    else:  # before #30: concatenate, mask, float32, normalise, fp16
        gallery = torch.from_numpy(np.concatenate([np.asarray(s) for s in shards])[valid])
        index = RetrievalIndex(torch.nn.functional.normalize(gallery.float(), dim=-1).to(torch.float16).contiguous(),
                               torch.as_tensor(lat), torch.as_tensor(lon), chunk=OLD_CHUNK, query_chunk=queries)
        del gallery
    del shards
    build_s = time.perf_counter() - started
    after_build = _peak_rss_mib()
    q = torch.randn(queries, index.embeddings.shape[1]).to(torch.float16)  # _queries gives the cache's fp16
    started = time.perf_counter()
    index.search(q)
    return {"imports_mib": imports, "build_peak_mib": after_build, "peak_mib": _peak_rss_mib(),
            "build_s": build_s, "search_s": time.perf_counter() - started, "index_mib": index.memory_bytes / 2**20}


def measure(folder: Path, mode: str, queries: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.bench_retrieval_memory", "--child", str(folder), mode, str(queries)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300_000, help="gallery images (default 300,000)")
    parser.add_argument("--dim", type=int, default=768, help="embedding size (768: ViT-B/16 and ViT-L/14's "
                                                             "projection; the pooled ViT-L/14 output is 1024)")
    parser.add_argument("--queries", type=int, nargs="+", default=[500, 2_000, 4_000])
    parser.add_argument("--before-queries", type=int, nargs="*", default=None,
                        help="Q values for the pre-#30 reference (default: the same; it needs ~1.2 GB per 1,000 "
                             "queries at N = 300k)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("FOLDER", "MODE", "Q"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), args.child[1], int(args.child[2]))))
        return
    before = args.queries if args.before_queries is None else args.before_queries
    print(f"machine: {machine_info()}")
    print(f"command: python -m benchmarks.bench_retrieval_memory {' '.join(sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big", Path(tmp) / "small"
        big.mkdir()
        small.mkdir()
        make_gallery(big, args.n, args.dim)
        make_gallery(small, args.n // 2, args.dim)
        runs: dict[tuple[str, int, int], list[dict]] = {}
        plan = [("bounded", args.n, q) for q in args.queries] + [("before", args.n, q) for q in before] + \
            [("bounded", args.n // 2, min(args.queries))]
        for _ in range(args.reps):  # interleaved: drift on a shared machine hits every row alike
            for mode, n, q in plan:
                runs.setdefault((mode, n, q), []).append(measure(big if n == args.n else small, mode, q))
    print(f"\nN = {args.n:,} gallery images x {args.dim} dims (fp16 index {runs[plan[0]][0]['index_mib']:,.0f} MiB), "
          f"{args.reps} runs each, median (min-max), MiB of peak RSS:\n")
    print("| code | queries Q | peak RSS | of which the build's peak | build s | search s |")
    print("|---|---|---|---|---|---|")
    for (mode, n, q), results in runs.items():
        if n != args.n:
            continue
        print(f"| {mode} | {q:,} | {_spread([r['peak_mib'] for r in results])} | "
              f"{_spread([r['build_peak_mib'] for r in results])} | "
              f"{statistics.median(r['build_s'] for r in results):.1f} | "
              f"{statistics.median(r['search_s'] for r in results):.1f} |")
    for mode, qs in (("bounded", args.queries), ("before", before)):
        if len(qs) >= 2:
            low, high = min(qs), max(qs)
            grow = (statistics.median(r["peak_mib"] for r in runs[(mode, args.n, high)])
                    - statistics.median(r["peak_mib"] for r in runs[(mode, args.n, low)])) / ((high - low) / 1000)
            print(f"\n{mode}: peak RSS grows {grow:,.1f} MiB per 1,000 queries (Q = {low:,} -> {high:,})")
    q = min(args.queries)
    slope = (statistics.median(r["peak_mib"] for r in runs[("bounded", args.n, q)])
             - statistics.median(r["peak_mib"] for r in runs[("bounded", args.n // 2, q)])) / ((args.n - args.n // 2) / 1e6)
    print(f"bounded: peak RSS per million gallery images (slope N = {args.n // 2:,} -> {args.n:,}, Q = {q:,}): "
          f"{slope / 1024:.2f} GiB; the index itself holds {(2 * args.dim + 8) * 1e6 / 2**30:.2f} GiB per million")


if __name__ == "__main__":
    main()
