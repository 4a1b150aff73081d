"""The run directory reader, backend dispatch by launch.json, and the Slurm submission decision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import yaml

from sciml_tui.launch.backend import LAUNCHES, LocalBackend, backend_of
from sciml_tui.launch.procs import create_time_of
from sciml_tui.launch.slurm import PRETRAIN_ARRAY, ParentView, SlurmBackend, decide
from sciml_tui.rundir import RunDir
from sciml_tui.store.records import Liveness, RunRecord, RunState


def test_a_missing_or_torn_run_dir_reads_as_not_there_yet(tmp_path):
    rd = RunDir(tmp_path / "nothing")
    assert rd.result() is None and rd.launch() is None and rd.config_text() is None
    assert rd.metrics() == {"epochs": [], "steps": []} and rd.last_epoch() is None and rd.log_tail() == ""
    assert rd.stamp() == (None, None, None)
    rd = RunDir(tmp_path)
    (tmp_path / "metrics.json").write_text('{"epochs": {"1": {"ep')
    (tmp_path / "result.json").write_text("[1, 2]")
    assert rd.metrics() == {"epochs": [], "steps": []} and rd.result() is None


def test_metrics_come_in_row_order_and_the_log_tail_falls_back_to_stdout(tmp_path):
    rd = RunDir(tmp_path)
    rows = {str(i): {"epoch": i, "val_error": 1.0 / i} for i in (10, 2, 1)}
    (tmp_path / "metrics.json").write_text(json.dumps({"epochs": rows, "steps": {}}))
    assert [r["epoch"] for r in rd.metrics()["epochs"]] == [1, 2, 10] and rd.last_epoch()["epoch"] == 10
    (tmp_path / "stdout.log").write_text("".join(f"line {i}\n" for i in range(50)))
    assert rd.log_path().name == "stdout.log" and rd.log_tail(3) == "line 47\nline 48\nline 49"
    before = rd.stamp()
    (tmp_path / "train.log").write_text("epoch 1\nTraceback: boom\n")
    assert rd.log_tail(1) == "Traceback: boom" and rd.stamp() != before


def test_config_is_written_atomically_and_an_old_result_can_be_cleared(tmp_path):
    rd = RunDir(tmp_path / "r")
    rd.write_config({"model": {"width": 8}, "lr": 1e-3})
    assert yaml.safe_load(rd.config_text()) == {"model": {"width": 8}, "lr": 1e-3}
    rd.file("result.json").write_text('{"status": "failed"}')
    assert rd.result() == {"status": "failed"}
    rd.clear_result()
    rd.clear_result()  # twice is fine
    assert rd.result() is None and not rd.can_resume()


def test_liveness_is_asked_of_the_backend_named_in_launch_json():
    assert isinstance(backend_of({"pid": 1}), LocalBackend)  # older launch.json files name none
    assert isinstance(backend_of({"backend": "slurm"}), SlurmBackend)
    assert backend_of({"backend": "kubernetes"}) is None
    me = {"backend": "local", "pid": os.getpid(), "create_time": create_time_of(os.getpid())}
    assert LAUNCHES.liveness(me) == Liveness.RUNNING
    assert LAUNCHES.liveness({**me, "create_time": 1.0}) == Liveness.GONE  # a reused pid is not ours
    assert LAUNCHES.liveness({"backend": "kubernetes", "pid": os.getpid()}) == Liveness.GONE
    assert "Slurm task 7_1 left the queue" in LAUNCHES.lost_message({"backend": "slurm", "slurm_job_id": "7_1"})


def test_local_cancel_stops_the_process_group_of_a_launch(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    launch = {"backend": "local", "pid": proc.pid, "pgid": proc.pid, "create_time": create_time_of(proc.pid)}
    t0 = time.time()
    LocalBackend().cancel([launch], grace_s=5.0)
    assert proc.wait(timeout=5) != 0 and time.time() - t0 < 5


def _run(rid, role="sweep", parent=None, datasets=("d",)):
    return RunRecord(id=rid, state=RunState.QUEUED, role=role, parent=parent, datasets=list(datasets))


def test_decide_sorts_runs_into_arrays_before_any_slurm_call():
    todo = [_run("pre", "pretrain"), _run("p-new", parent="pre"), _run("scratch"),
            _run("p-done", parent="old"), _run("p-slurm", parent="inq"), _run("p-local", parent="loc"),
            _run("p-dead", parent="bad"), _run("no-data", datasets=("broken",))]
    parents = {"pre": ParentView(RunState.QUEUED), "old": ParentView(RunState.DONE),
               "inq": ParentView(RunState.RUNNING, Liveness.RUNNING, "41_0"),
               "loc": ParentView(RunState.RUNNING, Liveness.RUNNING), "bad": ParentView(RunState.FAILED)}
    out = decide(todo, {"broken"}, parents)
    assert [r.id for r in out.pretrain] == ["pre"]
    assert [r.id for r in out.points] == ["p-new", "scratch", "p-done", "p-slurm"]
    assert out.waits_on == {PRETRAIN_ARRAY, "41_0"} and out.dependencies("42") == ["42", "41_0"]
    assert out.skipped == ["p-local"]
    assert dict(out.failed) == {"no-data": "dataset broken could not be generated",
                                "p-dead": "pre-training run bad ended failed"}


def test_decide_without_pretraining_to_wait_for_has_no_dependency():
    out = decide([_run("a"), _run("b", parent="old")], set(), {"old": ParentView(RunState.DONE)})
    assert [r.id for r in out.points] == ["a", "b"] and out.dependencies(None) is None
