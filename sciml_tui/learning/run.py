"""Run one training in a run directory: config.yaml in, result.json out (last).

Used by the entry point (`python -m sciml_tui.learning.entry RUN_DIR`) and by `sciml train`.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import ValidationError

from sciml_tui.atomic import write_json
from sciml_tui.errors import ConfigError, UserError
from sciml_tui.learning.config import ModelConfig, RunConfig
from sciml_tui.learning.events import Fanout, LogFileEvents, TrainingEvents
from sciml_tui.learning.preemption import EXIT_PREEMPTED
from sciml_tui.provenance import write_provenance
from sciml_tui.rundir import CONFIG_FILE, PREEMPTED_FILE, RESULT_FILE, TRAIN_LOG, RunDir


def _key_path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_config(raw: Any, source: str) -> RunConfig:
    """Validate a mapping as a RunConfig; errors name the file and the key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of config keys at the top level")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {_key_path(err['loc'])}: {err['msg']}{more}") from None


def read_config_file(path: str | Path) -> dict:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return raw if raw is not None else {}


def load_config(path: str | Path) -> RunConfig:
    return parse_config(read_config_file(path), str(path))


def with_init_model(cfg: RunConfig, model_given: bool) -> RunConfig:
    """A fine-tune / zero-shot config with its model checked against (or, when not given, taken
    from) its init checkpoint, so that config.yaml and the run's record name what is trained."""
    if not cfg.init_checkpoint:
        return cfg
    from sciml_tui.learning.checkpoint import init_model

    given = cfg.model.model_dump() if model_given else None
    return cfg.model_copy(update={"model": ModelConfig(**init_model(given, cfg.init_checkpoint))})


def _is_main_rank() -> bool:
    return os.environ.get("RANK", "0") == "0"


def run_in_dir(run_dir: str | Path, resume: bool = False, events: Optional[TrainingEvents] = None) -> dict:
    """Train as RUN_DIR/config.yaml says; write result.json last and return it.

    Never raises for a failed run (the result says `failed` and why), except
    KeyboardInterrupt, which leaves no result so the run can be resumed. A run stopped by
    SIGTERM returns status `preempted` and leaves preempted.json instead of result.json.
    """
    from sciml_tui.learning.trainer import Trainer  # torch is imported only when training

    run_dir = Path(run_dir)
    main = _is_main_rank()
    log = LogFileEvents(run_dir / TRAIN_LOG) if main else None
    sink = Fanout(events, log) if main else TrainingEvents()
    if main:
        RunDir(run_dir).clear_result()  # a fresh or resumed attempt: the old outcome no longer holds
    t0 = time.time()
    try:
        cfg = load_config(run_dir / CONFIG_FILE)
        cfg = with_init_model(cfg, "model" in cfg.model_fields_set)
        trainer = Trainer(cfg, run_dir, sink)
        if main:
            write_provenance(cfg, run_dir, trainer.device)
        result = trainer.run(resume=resume)
    except UserError as exc:
        result = {"status": "failed", "message": str(exc)}
    except KeyboardInterrupt:
        sink.message("interrupted: no result written (resume with --resume)")
        raise
    except Exception as exc:  # a bug or a system failure: keep the traceback in the log
        sink.message(traceback.format_exc().rstrip())
        result = {"status": "failed", "message": f"{type(exc).__name__}: {exc}"}
    result.setdefault("elapsed_s", time.time() - t0)
    for key in ("test_error", "best_val_error", "best_epoch", "epochs_run", "n_train", "params", "message"):
        result.setdefault(key, None)
    if main:
        sink.end(result)
        if result["status"] == "preempted":
            write_json(run_dir / PREEMPTED_FILE, {**result["stopped_at"], "at": time.time(),
                                                  "message": result["message"]})
        else:
            write_json(run_dir / RESULT_FILE, result)
    return result


EXIT_CODES = {"done": 0, "diverged": 3, "failed": 1, "preempted": EXIT_PREEMPTED}
