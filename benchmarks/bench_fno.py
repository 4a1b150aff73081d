"""FNO training-step speed: this project's FNO vs the `neuraloperator` package's FNO.

    python benchmarks/bench_fno.py                 # CPU: 128x128, batch 8, width 32, modes 16
    python benchmarks/bench_fno.py --width 64      # other sizes
    python benchmarks/bench_fno.py --gpu           # CUDA: fp32 vs tf32 vs bf16, width 64 / modes 16 / batch 128

One step = forward + backward + Adam update on the same random inputs. Every measurement
runs in a child process whose environment is set explicitly, so the comparison is not
skewed by the parent's allocator or thread settings:
1. ours vs neuraloperator (its defaults, and with its extras switched off to match the
   seed's architecture), in one child, interleaved rounds, median step time;
2. the allocator effect: our step with and without MALLOC_MMAP_MAX_=0 /
   MALLOC_TRIM_THRESHOLD_ (see sciml_tui.learning.runtime_env), and with threads = cores
   vs 2 x cores.
Timings on a shared machine are noisy: read the ratios, which are measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# "modes" here is the seed's: m rows at each sign along x, m non-negative columns along y.
# neuraloperator counts modes over the full axis, with the rfft axis halved (+1): the same
# kept set is n_modes = (2m, 2m - 1).


def _nl_modes(m: int) -> tuple[int, int]:
    return (2 * m, 2 * m - 1)


def build_models(width: int, modes: int, in_ch: int = 4) -> dict:
    from sciml_tui.learning.fno import FNO2d

    models = {"ours": FNO2d(in_ch, width, modes)}
    try:
        from neuralop.models import FNO
    except Exception as exc:  # not installed, or an import-time dependency missing
        return {**models, "_neuralop_error": f"{type(exc).__name__}: {exc}"}
    models["neuralop-default"] = FNO(n_modes=_nl_modes(modes), in_channels=in_ch, out_channels=1,
                                     hidden_channels=width)
    models["neuralop-matched"] = FNO(n_modes=_nl_modes(modes), in_channels=in_ch, out_channels=1,
                                     hidden_channels=width, n_layers=4, lifting_channel_ratio=0,
                                     projection_channel_ratio=2, positional_embedding=None,
                                     use_channel_mlp=False, fno_skip="linear", norm=None, domain_padding=None)
    return models


def make_step(model, x, y, precision: str = "fp32"):
    import torch

    from sciml_tui.learning.trainer import autocast_for

    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        with autocast_for(precision, x.device):
            pred = model(x)
        loss = (pred.float() - y).pow(2).sum(dim=(1, 2, 3)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def time_steps(steps: dict, repeats: int, rounds: int, sync=lambda: None) -> dict:
    for fn in steps.values():  # warm-up
        fn()
        fn()
    sync()
    times: dict = {k: [] for k in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            t0 = time.perf_counter()
            for _ in range(repeats):
                fn()
            sync()
            times[name].append((time.perf_counter() - t0) / repeats)
    return {k: statistics.median(v) for k, v in times.items()}


def child_compare(args) -> dict:
    import torch

    torch.manual_seed(0)
    models = build_models(args.width, args.modes)
    err = models.pop("_neuralop_error", None)
    if args.only_ours:
        models = {"ours": models["ours"]}
    x = torch.randn(args.batch, 4, args.n, args.n)
    y = torch.randn(args.batch, 1, args.n, args.n)
    steps = {k: make_step(m, x, y) for k, m in models.items()}
    step_s = time_steps(steps, args.repeats, args.rounds)
    # real parameters (a complex weight counts twice, as in our real-view storage)
    params = {k: sum(p.numel() * (2 if p.is_complex() else 1) for p in m.parameters()) for k, m in models.items()}
    return {"step_s": step_s, "params": params, "neuralop_error": err, "threads": torch.get_num_threads()}


def run_child(mode: str, args, env: dict) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--width", str(args.width),
           "--modes", str(args.modes), "--batch", str(args.batch), "--n", str(args.n),
           "--repeats", str(args.repeats), "--rounds", str(args.rounds)]
    if mode == "ours":
        cmd.append("--only-ours")
        cmd[cmd.index("--child") + 1] = "compare"
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _plain_env(threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    return env


def cpu_bench(args) -> None:
    from sciml_tui.learning.runtime_env import training_env

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = args.threads or cores
    good = training_env(dict(os.environ), threads)
    print(f"FNO step (forward+backward+Adam), CPU, {args.n}x{args.n}, batch {args.batch}, width {args.width}, "
          f"modes {args.modes}, {threads} threads, tuned allocator")
    res = run_child("compare", args, good)
    base = res["step_s"]["ours"]
    print(f"{'model':<18} {'params':>11} {'ms/step':>9} {'samples/s':>10} {'ours faster':>12}")
    for name, s in res["step_s"].items():
        ratio = s / base
        print(f"{name:<18} {res['params'][name]:>11,} {s * 1e3:>9.1f} {args.batch / s:>10.1f} {ratio:>11.2f}x")
    if res["neuralop_error"]:
        print(f"neuraloperator not available ({res['neuralop_error']}): only our numbers are shown")
    if args.skip_env:
        return
    print(f"\nProcess environment (our step only, {cores} cores):")
    rows = [
        ("glibc default allocator", _plain_env(threads)),
        ("MALLOC_MMAP_MAX_=0 + TRIM", training_env(dict(os.environ), threads)),
        (f"tuned, {2 * cores} threads (2x cores)", training_env(dict(os.environ), 2 * cores)),
    ]
    ref = None
    for label, env in rows:
        s = run_child("ours", args, env)["step_s"]["ours"]
        ref = ref or s
        print(f"  {label:<34} {s * 1e3:>8.1f} ms/step {args.batch / s:>8.1f} samples/s  ({ref / s:.2f}x the default)")


def gpu_bench(args) -> None:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("--gpu: CUDA is not available here")
    from sciml_tui.learning.fno import FNO2d
    from sciml_tui.learning.trainer import set_precision

    dev = torch.device("cuda")
    width, modes, batch, n = args.width or 64, args.modes or 16, args.batch or 128, args.n
    print(f"FNO step on {torch.cuda.get_device_name(dev)}: {n}x{n}, batch {batch}, width {width}, modes {modes}")
    x = torch.randn(batch, 4, n, n, device=dev)
    y = torch.randn(batch, 1, n, n, device=dev)
    results = {}
    for precision in ("fp32", "tf32", "bf16"):
        set_precision(precision)
        torch.manual_seed(0)
        model = FNO2d(4, width, modes).to(dev)
        step = make_step(model, x, y, precision)
        torch.cuda.reset_peak_memory_stats(dev)
        s = time_steps({precision: step}, args.repeats, args.rounds, torch.cuda.synchronize)[precision]
        results[precision] = (s, torch.cuda.max_memory_allocated(dev) / 2**30)
    set_precision("fp32")
    ref = results["fp32"][0]
    for precision, (s, mem) in results.items():
        print(f"  {precision:<5} {s * 1e3:>8.2f} ms/step {batch / s:>9.1f} samples/s  peak {mem:.2f} GiB  "
              f"({ref / s:.2f}x fp32)")
    models = build_models(width, modes)
    if "_neuralop_error" not in models:
        steps = {k: make_step(m.to(dev), x, y) for k, m in models.items()}
        times = time_steps(steps, args.repeats, args.rounds, torch.cuda.synchronize)
        for name, s in times.items():
            print(f"  fp32 {name:<18} {s * 1e3:>8.2f} ms/step  (ours is {s / times['ours']:.2f}x faster)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--modes", type=int, default=None)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: the cores available)")
    p.add_argument("--repeats", type=int, default=3, help="steps per timed round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--skip-env", action="store_true", help="skip the allocator / threads section")
    p.add_argument("--child", choices=["compare"], help=argparse.SUPPRESS)
    p.add_argument("--only-ours", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.gpu:
        gpu_bench(args)
        return
    args.width, args.modes, args.batch = args.width or 32, args.modes or 16, args.batch or 8
    if args.child:
        print(json.dumps(child_compare(args)))
        return
    cpu_bench(args)


if __name__ == "__main__":
    main()
