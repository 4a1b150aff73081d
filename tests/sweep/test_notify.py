"""Sweep alerts: a command hook and a webhook (a local HTTP server on 127.0.0.1)."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from sciml_tui.launch import plan_sweep, record_plan, run_scheduler
from sciml_tui.launch.backend import Slot
from sciml_tui.launch.notify import Notifier, deliver
from sciml_tui.specs.loader import SpecError, load_spec
from sciml_tui.store import WorkspaceStore

from .conftest import SPEC, fake_datasets


@pytest.fixture
def hook_server():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server name
            size = int(self.headers["Content-Length"])
            received.append({"type": self.headers["Content-Type"], "body": json.loads(self.rfile.read(size))})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def _recorder(tmp_path) -> list[str]:
    script = tmp_path / "hook.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')\n")
    return [sys.executable, str(script), str(tmp_path / "events.jsonl")]


def _events(tmp_path) -> list[dict]:
    path = tmp_path / "events.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()] if path.exists() else []


def test_a_finished_sweep_calls_its_command_and_webhook(tmp_path, fake_entry, hook_server):
    url, received = hook_server
    ws_dir = tmp_path / "ws"
    (ws_dir / "experiments").mkdir(parents=True)
    spec = ws_dir / "experiments" / "small.yaml"
    spec.write_text(SPEC + f"    notify: {{command: {json.dumps(_recorder(tmp_path))}, webhook: '{url}'}}\n")
    ws = WorkspaceStore(ws_dir)
    plan = plan_sweep(spec, ws)
    fake_datasets(plan)
    record_plan(ws, plan)
    assert run_scheduler(ws, ["s"], slots=[Slot("cpu0", threads=1)]) == {"done": 6}
    [event] = _events(tmp_path)
    assert event["event"] == "finished" and event["sweep"] == "s" and event["state"] == "done"
    assert event["counts"] == {"done": 6} and event["workspace"] == str(ws_dir)
    assert received == [{"type": "application/json", "body": event}]


def _notifier(tmp_path, settings: dict) -> Notifier:
    ws = WorkspaceStore(tmp_path / "ws")
    ws.upsert_sweep({"name": "s", "run_ids": ["r1", "r2"], "state": "running", "notify": settings})
    ws.upsert_sweep({"name": "quiet", "run_ids": ["r1"], "state": "running"})
    return Notifier(ws, ["s", "quiet"])


def test_failed_and_diverged_runs_alert_as_the_events_list_says(tmp_path, hook_server):
    url, received = hook_server
    n = _notifier(tmp_path, {"command": _recorder(tmp_path), "webhook": url, "events": ["failed"]})
    n.on_event("start", {"id": "r1"})
    n.on_event("end", {"id": "r1", "state": "diverged"})  # not in `events`
    n.on_event("end", {"id": "r2", "state": "done"})
    n.on_event("end", {"id": "r2", "state": "failed", "message": "CUDA out of memory"})
    n.on_event("end", {"id": "other", "state": "failed"})  # not this sweep's run
    n.flush(10)
    [event] = _events(tmp_path)
    assert (event["event"], event["run"], event["message"]) == ("failed", "r2", "CUDA out of memory")
    assert [r["body"] for r in received] == [event]


def test_a_broken_hook_is_logged_and_bounded(tmp_path, caplog):
    hang = [sys.executable, "-c", "import time; time.sleep(30)"]
    t0 = time.monotonic()
    problems = deliver({"command": hang, "webhook": "http://127.0.0.1:9/none", "timeout_s": 0.5},
                       {"event": "failed", "sweep": "s"})
    assert time.monotonic() - t0 < 10
    assert len(problems) == 2 and "timed out" in problems[0] and "webhook" in problems[1]
    assert deliver({"command": ["/no/such/hook"]}, {"event": "failed", "sweep": "s"})
    assert any("notify" in r.message for r in caplog.records)
    n = _notifier(tmp_path, {"command": ["/no/such/hook"]})
    n.on_event("end", {"id": "r1", "state": "failed"})  # never raises into the scheduler
    n.flush(10)


def test_notify_settings_are_validated_with_their_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC + "    notify: {webhook: 'not a url', events: [finished, exploded]}\n")
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    text = str(err.value)
    assert "bad.yaml:15: sweeps.s.notify.webhook: webhook must be an http:// or https:// URL" in text
    assert "bad.yaml:15: sweeps.s.notify.events.1" in text
