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
under `.sciml/slurm/` next to the array script, and runs the training entry as a child of
the batch shell; a run the trainer reports preempted (exit 75) requeues that one task
(`scontrol requeue <array>_<task>`), unless `sciml cancel` marked it, it paused at an lr-search
rung, or it was requeued `--max-requeues` times (`sciml_tui.launch.slurm_script`: the script,
the manifest, sbatch's argv and the options). The submitting environment (with
`training_env` threads = `--cpus-per-task`) is exported to the tasks, so the Python that
submits must be reachable at the same path on the compute nodes (a shared filesystem, like
the workspace itself).

State comes from `squeue` plus the run dirs (no `sacct`): `SlurmBackend.liveness` tells
reconciliation (`sciml_tui.store.reconcile`) whether an array task is pending, running or gone;
a requeued task is pending again (its run shows queued), never gone.

An lr search (adaptive grid, successive halving) runs through the same hook as under the local
scheduler (`launch/lr_search.LrSearchHook`): each `submit` advances it one step from what has
ended (decisions recorded on the sweep, never made twice), and a watching submit advances it
whenever a run ends or pauses, submitting what it releases as further arrays.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from sciml_tui.atomic import write_json, write_text
from sciml_tui.errors import UserError
from sciml_tui.launch.backend import LAUNCHES, entry_argv, prepare_run_dir, process_env
from sciml_tui.launch.lr_search import LrSearchHook
# the pure pieces, also importable from here as before the split
from sciml_tui.launch.slurm_script import SlurmOptions, array_script, manifest_text, sbatch_argv  # noqa: F401
from sciml_tui.launch.sweeps import (Event, fail_run, generate_datasets, missing_dataset, no_event, refuse_driven,
                                     settle_sweeps, state_counts, sweep_queue)
from sciml_tui.rundir import RunDir
from sciml_tui.store import WorkspaceStore, reconcile
from sciml_tui.store.records import ACTIVE, Liveness, RunRecord, RunState, SweepState

TOOL_TIMEOUT_S = 60.0


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


# squeue snapshot shared by the many runs of one reconcile pass (Slurm answers in ~10 ms,
# but a sweep has hundreds of runs)
SQUEUE_TTL_S = 1.0
_squeue_cache: tuple[float, Optional[dict[str, str]]] = (0.0, None)


def squeue_tasks(timeout_s: float = 20.0) -> Optional[dict[str, str]]:
    """`{"<array>_<task>": STATE}` for this user's jobs in `squeue` (one line per array task),
    or None when `squeue` is missing or fails. No accounting database is needed."""
    if shutil.which("squeue") is None:
        return None
    try:
        out = subprocess.run(["squeue", "--noheader", "--array", "--user", getpass.getuser(),
                              "--format", "%i|%T"], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    tasks: dict[str, str] = {}
    for line in out.stdout.splitlines():
        job, _, state = line.strip().partition("|")
        if job:
            tasks[job] = state
    return tasks


def squeue_snapshot(max_age_s: float = SQUEUE_TTL_S) -> Optional[dict[str, str]]:
    """`squeue_tasks()`, reused for `max_age_s` seconds (0 forces a fresh query)."""
    global _squeue_cache
    at, tasks = _squeue_cache
    now = time.monotonic()
    if tasks is None or now - at > max_age_s:
        tasks = squeue_tasks()
        _squeue_cache = (now, tasks)
    return tasks


# squeue states of a task that holds its allocation (COMPLETING: ending, or on its way back to
# PENDING after a requeue); every other listed state (PENDING, REQUEUED, REQUEUE_HOLD, ...) waits
HOLDING = {"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT"}


def task_liveness(job_id: Any) -> Liveness:
    """One array task: PENDING / RUNNING while squeue lists it (a requeued task is PENDING again),
    GONE once it does not, UNKNOWN when squeue cannot be asked (a run is never declared dead
    from such a machine)."""
    if not isinstance(job_id, str) or not job_id:
        return Liveness.GONE
    tasks = squeue_snapshot()
    if tasks is None:
        return Liveness.UNKNOWN
    state = tasks.get(job_id)
    if state is None:
        return Liveness.GONE
    return Liveness.RUNNING if state in HOLDING else Liveness.PENDING


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
    env = process_env(threads, None)
    # Slurm sets CUDA_VISIBLE_DEVICES itself for tasks given GPUs (--slurm-opt gres=gpu:1)
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def _submit_array(ws: WorkspaceStore, runs: list[RunRecord], tag: str, options: SlurmOptions,
                  dependency: Optional[list[str]]) -> str:
    """Write script + manifest under `.sciml/slurm/`, sbatch them; return the array job id."""
    out_dir = ws.meta_dir / "slurm"
    out_dir.mkdir(parents=True, exist_ok=True)
    # unique: a watching submit may send several arrays within one second
    stem = f"{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
    manifest, script = out_dir / f"{stem}.manifest", out_dir / f"{stem}.sh"
    write_text(manifest, manifest_text([Path(r.run_dir) for r in runs]))
    write_text(script, array_script(manifest, entry_argv(), options.requeues))
    script.chmod(0o755)
    argv = sbatch_argv(script, len(runs), name=f"sciml-{tag}", output=str(out_dir / f"{stem}-%A_%a.out"),
                       chdir=ws.root, options=options, dependency=dependency)
    answer = _tool(argv, env=_slurm_env(options.threads())).strip()
    job = answer.split(";")[0].strip()
    if not job.isdigit():
        raise UserError(f"sbatch answered {answer!r}, not a job id")
    write_json(out_dir / f"{stem}.submit.json", {"job": job, "argv": argv, "runs": [r.id for r in runs]})
    return job



# -- deciding what to submit (pure) -------------------------------------------------------------
PRETRAIN_ARRAY = "pretrain"  # stands for the pre-training array submitted in the same call


@dataclass
class Submission:
    """What one `submit` call sends: the arrays, what the points wait on, and what it leaves."""

    pretrain: list[RunRecord] = field(default_factory=list)
    points: list[RunRecord] = field(default_factory=list)
    waits_on: set[str] = field(default_factory=set)  # Slurm job ids, or PRETRAIN_ARRAY
    skipped: list[str] = field(default_factory=list)  # left queued: their pre-training runs locally
    failed: list[tuple[str, str]] = field(default_factory=list)  # (run id, why)

    def dependencies(self, pretrain_job: Optional[str]) -> Optional[list[str]]:
        deps = sorted(d for d in self.waits_on if d != PRETRAIN_ARRAY)
        if PRETRAIN_ARRAY in self.waits_on and pretrain_job:
            deps.insert(0, pretrain_job)
        return deps or None


@dataclass
class ParentView:
    """What `decide` needs to know about a pre-training run."""

    state: Optional[RunState]
    liveness: Liveness = Liveness.GONE
    slurm_job: Optional[str] = None  # its array task when Slurm holds it


def decide(todo: list[RunRecord], bad_data: set[str], parents: dict[str, ParentView]) -> Submission:
    """Sort the runs to submit into the two arrays; fail those that cannot run."""
    out = Submission()
    for r in todo:
        why = missing_dataset(r, bad_data)
        if why:
            out.failed.append((r.id, why))
        elif r.is_pretrain:
            out.pretrain.append(r)
    submitting = {r.id for r in out.pretrain}
    for r in todo:
        if r.is_pretrain or missing_dataset(r, bad_data):
            continue
        parent = parents.get(r.parent) if r.parent else None
        if parent is None and r.parent:
            out.failed.append((r.id, f"pre-training run {r.parent} ended missing"))
        elif parent is None or parent.state == RunState.DONE:
            out.points.append(r)
        elif r.parent in submitting:
            out.points.append(r)
            out.waits_on.add(PRETRAIN_ARRAY)
        elif parent.liveness != Liveness.GONE and parent.slurm_job:
            out.points.append(r)
            out.waits_on.add(parent.slurm_job)
        elif parent.liveness != Liveness.GONE:
            out.skipped.append(r.id)  # its pre-training runs locally: resume once it ends
        else:
            out.failed.append((r.id, f"pre-training run {r.parent} ended {parent.state or 'missing'}"))
    return out


# -- submission ---------------------------------------------------------------------------------
def _record(ws: WorkspaceStore, runs: list[RunRecord], job: str, now: float) -> None:
    for i, r in enumerate(runs):
        RunDir(r.run_dir).write_launch({
            "pid": None, "pgid": None, "backend": "slurm", "host": socket.gethostname(), "started_at": None,
            "submitted_at": now, "device": "slurm", "create_time": None, "slurm_job_id": f"{job}_{i}",
        })
    with ws.transaction() as tx:
        for i, r in enumerate(runs):
            tx.update("runs", r.id, state=RunState.QUEUED, device="slurm", pid=None, slurm_job_id=f"{job}_{i}",
                      started_at=None, ended_at=None, message=None, log_tail=None, test_error=None,
                      best_val_error=None)


def _submit_one(ws: WorkspaceStore, runs: list[RunRecord], tag: str, options: SlurmOptions,
                deps: Optional[list[str]], now: float) -> Optional[str]:
    if not runs:
        return None
    for r in runs:
        prepare_run_dir(r)
    job = _submit_array(ws, runs, tag, options, deps)
    _record(ws, runs, job, now)
    return job


def _views(runs: list[RunRecord]) -> tuple[dict[str, ParentView], set[str]]:
    """Every run's ParentView, and the ids still alive in some backend."""
    views: dict[str, ParentView] = {}
    for r in runs:
        launch = RunDir(r.run_dir).launch() if r.run_dir else None
        alive = LAUNCHES.liveness(launch) if launch else Liveness.GONE
        job = launch.get("slurm_job_id") if launch and launch.get("backend") == SlurmBackend.name else None
        views[r.id] = ParentView(r.state, alive, job)
    live = {i for i, v in views.items() if v.liveness != Liveness.GONE}
    return views, live


def submit(ws: WorkspaceStore, sweeps: list[str], options: Optional[SlurmOptions] = None,
           on_event: Optional[Event] = None, lr: Optional[LrSearchHook] = None) -> dict[str, Any]:
    """Submit the sweeps' runs that are neither finished nor alive (in Slurm or locally), after
    one step of their lr search (`lr`, a fresh hook by default): runs paused at an undecided
    rung stay queued, decided rungs prune and release runs, an adaptive grid adds its next lrs.

    Returns `{"sweeps", "backend": "slurm", "lr_search": bool, "submitted": [run ids], "jobs":
    {"pretrain": id|None, "points": id|None}, "skipped": [run ids left queued]}`; nothing is
    submitted when every run is done or still in Slurm (a second `run sweep` of the same spec).
    """
    options = options or SlurmOptions()
    options.threads()  # validate before anything is written
    emit = on_event or no_event
    require_tools()
    recs = [ws.sweep(name) for name in sweeps]
    if None in recs:
        raise UserError(f"no sweep named {sweeps[recs.index(None)]!r} in {ws.path}")
    refuse_driven(recs)
    reconcile(ws, LAUNCHES)
    runs = sweep_queue(ws, sweeps)
    views, alive = _views(runs)
    todo = [r for r in runs if not r.finished and r.id not in alive]
    lr = lr or LrSearchHook(ws, sweeps, emit)
    if lr.enabled:  # the scheduler's first step, as `Scheduler._run` takes it
        todo = lr.admit(todo) + lr.advance(True)
    out = submit_runs(ws, sweeps, todo, views, options, emit)
    return {"sweeps": sweeps, "backend": "slurm", "lr_search": lr.enabled, **out}


def submit_runs(ws: WorkspaceStore, sweeps: list[str], todo: list[RunRecord], views: dict[str, ParentView],
                options: SlurmOptions, emit: Event = no_event) -> dict[str, Any]:
    """Submit `todo` (as given: configs included) as a pre-training and a points array; fail
    the runs that cannot run. Returns `{"submitted", "jobs", "skipped"}`."""
    out: dict[str, Any] = {"submitted": [], "skipped": [], "jobs": {"pretrain": None, "points": None}}
    todo = list({r.id: r for r in todo}.values())
    if not todo:
        return out
    plan = decide(todo, generate_datasets(ws, todo, emit), views)
    for run_id, why in plan.failed:
        fail_run(ws, run_id, why, emit)
    now = time.time()
    pre = _submit_one(ws, plan.pretrain, f"{sweeps[0]}-pretrain", options, None, now)
    points = _submit_one(ws, plan.points, f"{sweeps[0]}-points", options, plan.dependencies(pre), now)
    out["jobs"] = {"pretrain": pre, "points": points}
    out["skipped"] = plan.skipped
    out["submitted"] = [r.id for r in plan.pretrain if pre] + [r.id for r in plan.points if points]
    for rid in out["submitted"]:
        emit("submit", {"id": rid, "device": "slurm"})
    _mark_running(ws, sweeps, [j for j in (pre, points) if j])
    return out


def _mark_running(ws: WorkspaceStore, sweeps: list[str], jobs: list[str]) -> None:
    with ws.transaction() as tx:
        for name in sweeps:
            cur = tx.get("sweeps", name) or {}
            tx.update("sweeps", name, state=SweepState.RUNNING, backend="slurm",
                      slurm_jobs=[*(cur.get("slurm_jobs") or []), *jobs], ended_at=None)


# -- watching -----------------------------------------------------------------------------------
def _owned_running(rec: dict[str, Any]) -> bool:
    return rec.get("backend") == SlurmBackend.name and rec.get("state") == SweepState.RUNNING


def settle(ws: WorkspaceStore, sweeps: list[str]) -> None:
    """A Slurm sweep with no active run left becomes done (or failed, if any run did not finish)."""
    settle_sweeps(ws, sweeps, _owned_running, wait_for_active=True)


def watch(ws: WorkspaceStore, sweeps: list[str], run_ids: list[str], on_event: Optional[Event] = None,
          poll_s: float = 1.0, timeout_s: Optional[float] = None, lr: Optional[LrSearchHook] = None,
          options: Optional[SlurmOptions] = None) -> dict[str, int]:
    """Follow submitted runs through `squeue` and their run dirs until none is in Slurm.

    Emits `start` when a task starts running and `end` with its final state; returns counts of
    the final states over all runs of the sweeps. With an lr search (`lr`, the hook the submit
    used), a run that ends or pauses at a rung advances it, and what it releases or adds is
    submitted (`options`) and followed too. Interrupting it leaves the jobs in Slurm.
    """
    emit = on_event or no_event
    searching = lr is not None and lr.enabled
    seen: dict[str, Optional[str]] = {}
    deadline = None if timeout_s is None else time.time() + timeout_s
    watched = set(run_ids)
    while True:
        squeue_snapshot(max_age_s=0)
        reconcile(ws, LAUNCHES)
        recs = {r.id: r for r in ws.runs() if r.id in watched}
        ended = _report(recs, seen, emit, lr if searching else None)
        if ended and searching:
            more = _lr_step(ws, sweeps, lr, options or SlurmOptions(), emit)
            if more:
                watched |= set(more)
                continue
        if not any(map(_in_slurm, recs.values())) or (deadline is not None and time.time() > deadline):
            break
        time.sleep(poll_s)
    settle(ws, sweeps)
    return state_counts(sweep_queue(ws, sweeps))


def _report(recs: dict[str, RunRecord], seen: dict[str, Optional[str]], emit: Event,
            lr: Optional[LrSearchHook]) -> bool:
    """Emit the state changes of the watched runs; True when one ended or paused at a rung."""
    ended = False
    for rid, r in recs.items():
        if lr is not None and r.state == RunState.QUEUED and rid not in lr.held and lr.paused(rid, RunDir(r.run_dir)):
            ended = True  # `paused` emitted it
        if r.state == seen.get(rid):
            continue
        seen[rid] = r.state
        if r.state == RunState.RUNNING:
            emit("start", {"id": rid, "device": "slurm"})
        elif r.state not in ACTIVE:
            ended = True
            if r.state != RunState.PRUNED:  # the lr search reported its own
                emit("end", {"id": rid, "state": r.state, "test_error": r.test_error})
    return ended


def _in_slurm(r: RunRecord) -> bool:
    """An active run whose array task squeue still lists (or cannot tell about)."""
    launch = RunDir(r.run_dir).launch() if r.active and r.run_dir else None
    return launch is not None and task_liveness(launch.get("slurm_job_id")) != Liveness.GONE


def _lr_step(ws: WorkspaceStore, sweeps: list[str], lr: LrSearchHook, options: SlurmOptions,
             emit: Event) -> list[str]:
    """Advance the lr search after runs ended; submit what it releases or adds; their ids."""
    release = lr.advance(True)
    if not release:
        return []
    views, alive = _views(sweep_queue(ws, sweeps))
    return submit_runs(ws, sweeps, [r for r in release if r.id not in alive], views, options, emit)["submitted"]


class SlurmBackend:
    """Runs as array tasks of `sbatch` job arrays (see the module docstring)."""

    name = "slurm"
    title = "Slurm"

    def __init__(self, options: Optional[SlurmOptions] = None, *, detach: bool = True) -> None:
        self.options = options or SlurmOptions()
        self.detach = detach

    def require(self) -> None:
        self.options.threads()  # the user's options first: they need no Slurm to be checked
        require_tools()

    def submit(self, ws: WorkspaceStore, sweeps: list[str], on_event: Event = no_event) -> dict[str, Any]:
        lr = LrSearchHook(ws, sweeps, on_event)  # one hook: what the submit holds, the watch releases
        out = submit(ws, sweeps, self.options, on_event=on_event, lr=lr)
        if not self.detach:
            out["counts"] = watch(ws, sweeps, out["submitted"], on_event=on_event, lr=lr, options=self.options)
        return out

    def liveness(self, launch: dict[str, Any]) -> Liveness:
        return task_liveness(launch.get("slurm_job_id"))

    def lost_message(self, launch: dict[str, Any]) -> str:
        return f"Slurm task {launch.get('slurm_job_id')} left the queue without writing result.json"

    def cancel(self, launches: list[dict[str, Any]], grace_s: float = 5.0) -> None:
        jobs = [launch.get("slurm_job_id") for launch in launches]
        scancel([j for j in jobs if j])
