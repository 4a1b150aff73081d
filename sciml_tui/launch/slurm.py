"""The Slurm backend: a sweep's ready runs as job arrays, one array task per run.

`submit(ws, sweeps, options)` generates missing datasets in-process, then submits
- the pending pre-training runs as one array, and
- the pending sweep points as ONE array `--array=0-M%K`, which depends on the pre-training
  array with `--dependency=afterok:<job> --kill-on-invalid-dep=yes` when any point needs a
  pre-training run that is submitted in the same call (or still in Slurm from an earlier one).

Why a dependency rather than waiting for pre-training and submitting afterwards: submission
returns at once, nothing has to keep running on the submitting machine, and Slurm starts the
points the moment pre-training ends. The price of ONE points array is that scratch points wait
for pre-training too, and a failed pre-training makes Slurm drop the whole points array
(`kill-on-invalid-dep`), after which reconciliation marks those runs failed; `sciml resume
SWEEP --backend slurm` submits them again.

Task i of an array reads its run dir from line i+1 of a manifest file written atomically
under `.sciml/slurm/` next to the array script, and `exec`s the training entry
(`python -m sciml_tui.learning.entry RUN_DIR [--resume]`, `--resume` when the run dir holds
`checkpoints/last.pt`), appending its output to `RUN_DIR/stdout.log`. The submitting
environment (with `training_env` threads = `--cpus-per-task`) is exported to the tasks, so
the Python that submits must be reachable at the same path on the compute nodes (a shared
filesystem, like the workspace itself).

State comes from `squeue` plus the run dirs (no `sacct`): see `sciml_tui.store.reconcile`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from sciml_tui.atomic import write_json, write_text
from sciml_tui.errors import UserError
from sciml_tui.launch.backend import entry_argv, write_config
from sciml_tui.store import WorkspaceStore, reconcile
from sciml_tui.store.procs import launch_alive, pid_alive, read_launch, slurm_task_state, squeue_snapshot

FINISHED = {"done", "diverged"}
ACTIVE = {"queued", "running"}
TOOL_TIMEOUT_S = 60.0
# options the backend sets itself: a user value would break the task -> run dir mapping
RESERVED = {"array", "dependency", "output", "error", "chdir", "parsable", "wrap", "kill-on-invalid-dep",
            "export", "input"}
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
Event = Callable[[str, dict[str, Any]], None]


@dataclass
class SlurmOptions:
    """`--partition P`, `--array-limit K` (the `%K` of `--array`), `--slurm-opt KEY=VALUE`."""

    partition: Optional[str] = None
    array_limit: Optional[int] = None
    opts: list[str] = field(default_factory=list)

    def extra(self) -> dict[str, str]:
        """The `--slurm-opt` pairs as `{key: value}`, validated (UserError on bad input)."""
        out: dict[str, str] = {}
        for item in self.opts:
            key, eq, value = item.partition("=")
            key = key.strip().lstrip("-")
            if not eq or not _KEY.match(key) or "\n" in value:
                raise UserError(f"--slurm-opt takes KEY=VALUE (an sbatch long option without --), got {item!r}")
            if key in RESERVED:
                raise UserError(f"--slurm-opt {key} is set by sciml itself and cannot be overridden")
            out[key] = value
        if self.partition is not None:
            if not self.partition or "\n" in self.partition:
                raise UserError(f"--partition needs a partition name, got {self.partition!r}")
            out.setdefault("partition", self.partition)
        if self.array_limit is not None and self.array_limit < 1:
            raise UserError(f"--array-limit must be at least 1, got {self.array_limit}")
        return out

    def threads(self) -> int:
        value = self.extra().get("cpus-per-task", "1")
        if not value.isdigit() or int(value) < 1:
            raise UserError(f"--slurm-opt cpus-per-task must be a positive integer, got {value!r}")
        return int(value)


# -- pure pieces: script, manifest, sbatch arguments --------------------------------------------
def array_script(manifest: Path, argv: list[str]) -> str:
    """The batch script of an array: task i runs `argv RUN_DIR` for line i+1 of `manifest`."""
    cmd = " ".join(shlex.quote(a) for a in argv)
    return f"""#!/bin/bash
# sciml array job: array task i trains the run dir on line i+1 of the manifest.
set -u
MANIFEST={shlex.quote(str(manifest))}
RUN_DIR=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$MANIFEST")
if [ -z "$RUN_DIR" ] || [ ! -d "$RUN_DIR" ]; then
  echo "sciml: no run dir for array task ${{SLURM_ARRAY_TASK_ID}} in $MANIFEST" >&2
  exit 2
fi
exec >>"$RUN_DIR/stdout.log" 2>&1
RESUME=()
if [ -f "$RUN_DIR/checkpoints/last.pt" ]; then RESUME=(--resume); fi
echo "sciml: Slurm task ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}} on $(hostname)"
exec {cmd} "$RUN_DIR" "${{RESUME[@]}}"
"""


def manifest_text(run_dirs: list[Path]) -> str:
    """One absolute run dir per line; line i+1 belongs to array task i."""
    lines = [str(Path(d).absolute()) for d in run_dirs]
    bad = [d for d in lines if "\n" in d or "\r" in d]
    if bad:
        raise UserError(f"run dir {bad[0]!r} contains a line break")
    return "".join(f"{d}\n" for d in lines)


def sbatch_argv(script: Path, n_tasks: int, *, name: str, output: str, chdir: Path,
                options: SlurmOptions, dependency: Optional[list[str]] = None) -> list[str]:
    """`sbatch --parsable --array=0-(n-1)[%K] ... SCRIPT` as an argument list."""
    if n_tasks < 1:
        raise ValueError("an array needs at least one task")
    array = f"0-{n_tasks - 1}" + (f"%{options.array_limit}" if options.array_limit else "")
    settings = {"job-name": name, "ntasks": "1", "cpus-per-task": "1"}
    settings.update(options.extra())
    argv = ["sbatch", "--parsable", f"--array={array}", f"--output={output}", f"--chdir={chdir}"]
    if dependency:
        argv += [f"--dependency=afterok:{':'.join(dependency)}", "--kill-on-invalid-dep=yes"]
    argv += [f"--{k}={v}" for k, v in settings.items()]
    return argv + [str(script)]


# -- talking to Slurm ---------------------------------------------------------------------------
def _tool(argv: list[str], env: Optional[dict[str, str]] = None) -> str:
    """Run a Slurm client command; UserError (one line) when it is missing or fails."""
    if shutil.which(argv[0]) is None:
        raise UserError(f"{argv[0]} not found on PATH: the Slurm backend needs the Slurm client commands")
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserError(f"{argv[0]} failed: {exc}") from None
    if out.returncode != 0:
        msg = " ".join((out.stderr or out.stdout).split()) or f"exit status {out.returncode}"
        raise UserError(f"{argv[0]} failed: {msg}")
    return out.stdout


def squeue_now() -> dict[str, str]:
    """A fresh `squeue` snapshot `{"<array>_<task>": STATE}`; UserError if Slurm cannot be asked."""
    _tool(["squeue", "--version"])
    tasks = squeue_snapshot(max_age_s=0)
    if tasks is None:
        _tool(["squeue", "--noheader"])  # names the failure
        raise UserError("squeue failed")
    return tasks


def require_tools() -> None:
    """UserError (one line) unless `squeue` answers and `sbatch` is there."""
    squeue_now()
    _tool(["sbatch", "--version"])


def scancel(job_ids: list[str]) -> None:
    """`scancel` the given array tasks (`<array>_<task>`) that `squeue` still lists."""
    live = squeue_now()
    ids = [j for j in job_ids if j in live]
    if ids:
        _tool(["scancel", *ids])
    squeue_snapshot(max_age_s=0)


def _slurm_env(threads: int) -> dict[str, str]:
    from sciml_tui.launch.backend import process_env

    env = process_env(threads, None)
    # Slurm sets CUDA_VISIBLE_DEVICES itself for tasks given GPUs (--slurm-opt gres=gpu:1)
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def _submit_array(ws: WorkspaceStore, runs: list[dict[str, Any]], tag: str, options: SlurmOptions,
                  dependency: Optional[list[str]]) -> str:
    """Write script + manifest under `.sciml/slurm/`, sbatch them; return the array job id."""
    out_dir = ws.meta_dir / "slurm"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    manifest, script = out_dir / f"{stem}.manifest", out_dir / f"{stem}.sh"
    write_text(manifest, manifest_text([Path(r["run_dir"]) for r in runs]))
    write_text(script, array_script(manifest, entry_argv()))
    script.chmod(0o755)
    argv = sbatch_argv(script, len(runs), name=f"sciml-{tag}", output=str(out_dir / f"{stem}-%A_%a.out"),
                       chdir=ws.root, options=options, dependency=dependency)
    answer = _tool(argv, env=_slurm_env(options.threads())).strip()
    job = answer.split(";")[0].strip()
    if not job.isdigit():
        raise UserError(f"sbatch answered {answer!r}, not a job id")
    write_json(out_dir / f"{stem}.submit.json", {"job": job, "argv": argv, "runs": [r["id"] for r in runs]})
    return job


# -- submission ---------------------------------------------------------------------------------
def _queue(ws: WorkspaceStore, sweeps: list[str]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for name in sweeps:
        for r in ws.runs(sweep=name):
            seen.setdefault(r["id"], r)
    return sorted(seen.values(), key=lambda r: r.get("role") != "pretrain")


def _prepare(runs: list[dict[str, Any]]) -> None:
    for r in runs:
        write_config(r)
        stale = Path(r["run_dir"]) / "result.json"
        if stale.exists():
            stale.unlink()  # an earlier failed attempt: its task resumes from last.pt


def _record(ws: WorkspaceStore, runs: list[dict[str, Any]], job: str, now: float) -> None:
    for i, r in enumerate(runs):
        write_json(Path(r["run_dir"]) / "launch.json", {
            "pid": None, "pgid": None, "backend": "slurm", "host": socket.gethostname(), "started_at": None,
            "submitted_at": now, "device": "slurm", "create_time": None, "slurm_job_id": f"{job}_{i}",
        })
    with ws.transaction() as tx:
        for i, r in enumerate(runs):
            tx.update("runs", r["id"], state="queued", device="slurm", pid=None, slurm_job_id=f"{job}_{i}",
                      started_at=None, ended_at=None, message=None, log_tail=None, test_error=None,
                      best_val_error=None)


def _fail(ws: WorkspaceStore, run_id: str, why: str, emit: Event) -> None:
    ws.update_run(run_id, state="failed", message=why, ended_at=time.time())
    emit("end", {"id": run_id, "state": "failed", "message": why})


def submit(ws: WorkspaceStore, sweeps: list[str], options: Optional[SlurmOptions] = None,
           on_event: Optional[Event] = None) -> dict[str, Any]:
    """Submit the sweeps' runs that are neither finished nor alive (in Slurm or locally).

    Returns `{"sweeps", "backend": "slurm", "submitted": [run ids], "jobs": {"pretrain": id|None,
    "points": id|None}, "skipped": [run ids left queued]}`; nothing is submitted when every
    run is done or still in Slurm (a second `run sweep` of the same spec).
    """
    options = options or SlurmOptions()
    options.threads()  # validate before anything is written
    emit = on_event or (lambda kind, payload: None)
    require_tools()
    for name in sweeps:
        rec = ws.sweep(name)
        if rec is None:
            raise UserError(f"no sweep named {name!r} in {ws.path}")
        pid = rec.get("scheduler_pid")
        if pid and pid_alive(pid, rec.get("scheduler_create_time")):
            raise UserError(f"sweep {name!r} is being run by local scheduler pid {pid}; `sciml cancel {name}` stops it")
    reconcile(ws)
    runs = _queue(ws, sweeps)
    launches = {r["id"]: read_launch(r["run_dir"]) for r in runs}
    alive = {i for i, launch in launches.items() if launch_alive(launch)}
    todo = [r for r in runs if r.get("state") not in FINISHED and r["id"] not in alive]
    out: dict[str, Any] = {"sweeps": sweeps, "backend": "slurm", "submitted": [], "skipped": [],
                           "jobs": {"pretrain": None, "points": None}}
    if not todo:
        return out

    from sciml_tui.launch.backend import Slot
    from sciml_tui.launch.scheduler import Scheduler

    bad_data = Scheduler(ws, sweeps, slots=[Slot("cpu0")], on_event=emit)._generate_datasets(todo)
    pretrain: list[dict[str, Any]] = []
    for r in (r for r in todo if r.get("role") == "pretrain"):
        missing = [d for d in (r.get("datasets") or []) if d in bad_data]
        if missing:
            _fail(ws, r["id"], f"dataset {missing[0]} could not be generated", emit)
        else:
            pretrain.append(r)
    submitting = {r["id"] for r in pretrain}
    points: list[dict[str, Any]] = []
    waits_on: set[str] = set()
    for r in (r for r in todo if r.get("role") != "pretrain"):
        missing = [d for d in (r.get("datasets") or []) if d in bad_data]
        parent = r.get("parent")
        plaunch = launches.get(parent) if parent else None  # a sweep's runs include its pre-training
        pstate = (ws.run(parent) or {}).get("state") if parent else None
        if missing:
            _fail(ws, r["id"], f"dataset {missing[0]} could not be generated", emit)
        elif not parent or pstate == "done":
            points.append(r)
        elif parent in submitting:
            points.append(r)
            waits_on.add("pretrain")
        elif parent in alive and plaunch and plaunch.get("backend") == "slurm":
            points.append(r)
            waits_on.add(plaunch["slurm_job_id"])
        elif parent in alive:
            out["skipped"].append(r["id"])  # its pre-training runs locally: resume once it ends
        else:
            _fail(ws, r["id"], f"pre-training run {parent} ended {pstate or 'missing'}", emit)

    now = time.time()
    tag = sweeps[0]
    if pretrain:
        _prepare(pretrain)
        job = _submit_array(ws, pretrain, f"{tag}-pretrain", options, None)
        _record(ws, pretrain, job, now)
        out["jobs"]["pretrain"] = job
        out["submitted"] += [r["id"] for r in pretrain]
    if points:
        deps = sorted(d for d in waits_on if d != "pretrain")
        if "pretrain" in waits_on:
            deps.insert(0, out["jobs"]["pretrain"])
        _prepare(points)
        job = _submit_array(ws, points, f"{tag}-points", options, deps or None)
        _record(ws, points, job, now)
        out["jobs"]["points"] = job
        out["submitted"] += [r["id"] for r in points]
    for rid in out["submitted"]:
        emit("submit", {"id": rid, "device": "slurm"})
    with ws.transaction() as tx:
        for name in sweeps:
            cur = tx.get("sweeps", name) or {}
            jobs = [*(cur.get("slurm_jobs") or []), *(j for j in out["jobs"].values() if j)]
            tx.update("sweeps", name, state="running", backend="slurm", slurm_jobs=jobs, ended_at=None)
    return out


# -- watching -----------------------------------------------------------------------------------
def settle_sweeps(ws: WorkspaceStore, sweeps: list[str]) -> None:
    """A Slurm sweep with no active run left becomes done (or failed, if any run did not finish)."""
    runs = {r["id"]: r.get("state") for name in sweeps for r in ws.runs(sweep=name)}
    with ws.transaction() as tx:
        for name in sweeps:
            rec = tx.get("sweeps", name)
            if rec is None or rec.get("backend") != "slurm" or rec.get("state") != "running":
                continue
            states = [runs.get(i) for i in rec.get("run_ids") or []]
            if any(s in ACTIVE for s in states):
                continue
            state = "failed" if any(s in ("failed", "cancelled") for s in states) else "done"
            tx.update("sweeps", name, state=state, ended_at=time.time())


def watch(ws: WorkspaceStore, sweeps: list[str], run_ids: list[str], on_event: Optional[Event] = None,
          poll_s: float = 1.0, timeout_s: Optional[float] = None) -> dict[str, int]:
    """Follow submitted runs through `squeue` and their run dirs until none is queued or running.

    Emits `start` when a task starts running and `end` with its final state; returns counts of
    the final states over all runs of the sweeps. Interrupting it leaves the jobs in Slurm.
    """
    emit = on_event or (lambda kind, payload: None)
    seen: dict[str, Optional[str]] = {}
    deadline = None if timeout_s is None else time.time() + timeout_s
    watched = set(run_ids)
    while True:
        squeue_snapshot(max_age_s=0)
        reconcile(ws)
        recs = {r["id"]: r for r in ws.runs() if r["id"] in watched}
        for rid, r in recs.items():
            state = r.get("state")
            if state == seen.get(rid):
                continue
            seen[rid] = state
            if state == "running":
                emit("start", {"id": rid, "device": "slurm"})
            elif state not in ACTIVE:
                emit("end", {"id": rid, "state": state, "test_error": r.get("test_error")})
        if not any(r.get("state") in ACTIVE for r in recs.values()):
            break
        if deadline is not None and time.time() > deadline:
            break
        time.sleep(poll_s)
    settle_sweeps(ws, sweeps)
    counts: dict[str, int] = {}
    for r in _queue(ws, sweeps):
        counts[r.get("state", "?")] = counts.get(r.get("state", "?"), 0) + 1
    return counts


def live_slurm_runs(runs: list[dict[str, Any]]) -> list[str]:
    """Ids of active `runs` whose Slurm array task `squeue` lists as pending or running."""
    out = []
    for r in runs:
        if r.get("state") not in ACTIVE or not r.get("run_dir"):
            continue
        launch = read_launch(r["run_dir"])
        if launch and launch.get("backend") == "slurm" \
                and slurm_task_state(launch.get("slurm_job_id")) not in ("GONE", "UNKNOWN"):
            out.append(r["id"])
    return out
