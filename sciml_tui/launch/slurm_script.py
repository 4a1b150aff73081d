"""The pure pieces of the Slurm backend: options, the array task script, the manifest, sbatch's argv.

Task i of an array reads its run dir from line i+1 of the manifest and runs the training entry
(`python -m sciml_tui.learning.entry RUN_DIR [--resume]`, `--resume` when `checkpoints/last.pt`
exists) as a child of the batch shell, its output appended to `RUN_DIR/stdout.log`:

- SIGTERM, SIGINT and SIGUSR1 sent to the batch shell (`--signal=B:TERM@120`, `scancel
  --signal=TERM --batch`) reach the trainer as SIGTERM, its one "checkpoint and stop" signal; a
  trainer signalled directly (`scancel --full`, preemption) needs no forwarding;
- when the trainer exits 75 (preempted: checkpointed at the exact step, `preempted.json`), the
  script runs `scontrol requeue <array>_<task>`: this task goes back to PENDING, every other
  task of the array is left alone, and the requeued task starts again with `--resume`;
- it does not requeue a run that paused at an lr-search rung (`preempted.json` has
  `paused_after`: the lr search decides what runs next), a run that `sciml cancel` marked
  (`cancelled.json`, written before `scancel`), a task that Slurm itself is ending (squeue
  says COMPLETING or the like, not RUNNING or PREEMPTED: a plain `scancel`, the time limit), or
  a task Slurm restarted `max_requeues` times already (`SLURM_RESTART_COUNT`, which counts
  every requeue of the job, Slurm's own included);
- each decision is one `sciml:` line in `stdout.log`.

Arrays are submitted with `--requeue` (a site's `JobRequeue=0` would otherwise make `scontrol
requeue` fail), so `requeue`/`no-requeue` are reserved; `--max-requeues 0` turns requeueing off.
`signal` stays the user's: `--slurm-opt signal=B:TERM@120` checkpoints two minutes before the
time limit and the task continues after a requeue. Slurm holds a requeued job until its
credential lifetime has passed (`AuthInfo=cred_expire`, 120 s by default) before it starts again.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from sciml_tui.errors import UserError
from sciml_tui.learning.preemption import EXIT_PREEMPTED  # the trainer's exit status for a preempted run
from sciml_tui.rundir import CANCELLED_FILE, LAST_CHECKPOINT, PREEMPTED_FILE, STDOUT_LOG

MAX_REQUEUES = 10  # a task preempted more often than this stays preempted (`sciml resume` continues it)
# options the backend sets itself: a user value would break the task -> run dir mapping
# (`workdir` is the older name of `chdir`) or the requeue of a preempted task
RESERVED = {"array", "dependency", "output", "error", "chdir", "workdir", "parsable", "wrap",
            "kill-on-invalid-dep", "export", "input", "requeue", "no-requeue"}
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def reserved_option(key: str) -> Optional[str]:
    """The reserved option `key` names: itself, or one it abbreviates (sbatch, like getopt,
    takes any unambiguous prefix of a long option, so `arr` is `--array`)."""
    hits = sorted(r for r in RESERVED if r.startswith(key))
    return key if key in RESERVED else (hits[0] if hits else None)


@dataclass
class SlurmOptions:
    """`--partition P`, `--array-limit K` (the `%K` of `--array`), `--slurm-opt KEY=VALUE`,
    `--max-requeues N` (how often a preempted task is requeued)."""

    partition: Optional[str] = None
    array_limit: Optional[int] = None
    opts: list[str] = field(default_factory=list)
    max_requeues: Optional[int] = None  # None: MAX_REQUEUES

    @property
    def requeues(self) -> int:
        return MAX_REQUEUES if self.max_requeues is None else self.max_requeues

    def extra(self) -> dict[str, str]:
        """The `--slurm-opt` pairs as `{key: value}`, validated (UserError on bad input)."""
        out: dict[str, str] = {}
        for item in self.opts:
            key, eq, value = item.partition("=")
            key = key.strip().lstrip("-")
            if not eq or not _KEY.match(key) or "\n" in value:
                raise UserError(f"--slurm-opt takes KEY=VALUE (an sbatch long option without --), got {item!r}")
            reserved = reserved_option(key)
            if reserved:
                what = key if key == reserved else f"{key} (sbatch reads it as --{reserved})"
                raise UserError(f"--slurm-opt {what} is set by sciml itself and cannot be overridden")
            out[key] = value
        if self.partition is not None:
            if not self.partition or "\n" in self.partition:
                raise UserError(f"--partition needs a partition name, got {self.partition!r}")
            out.setdefault("partition", self.partition)
        if self.array_limit is not None and self.array_limit < 1:
            raise UserError(f"--array-limit must be at least 1, got {self.array_limit}")
        if isinstance(self.requeues, bool) or not isinstance(self.requeues, int) or self.requeues < 0:
            raise UserError(f"--max-requeues must be 0 or more, got {self.max_requeues!r}")
        return out

    def threads(self) -> int:
        value = self.extra().get("cpus-per-task", "1")
        if not value.isdigit() or int(value) < 1:
            raise UserError(f"--slurm-opt cpus-per-task must be a positive integer, got {value!r}")
        return int(value)


def array_script(manifest: Path, argv: list[str], max_requeues: int = MAX_REQUEUES) -> str:
    """The batch script of an array: task i runs `argv RUN_DIR` for line i+1 of `manifest` and
    requeues itself when that run is preempted (see the module docstring)."""
    cmd = " ".join(shlex.quote(a) for a in argv)
    return f"""#!/bin/bash
# sciml array job: array task i trains the run dir on line i+1 of the manifest; a preempted
# run (exit {EXIT_PREEMPTED}) requeues this task only, unless cancelled, paused or requeued {max_requeues} times.
set -u
MANIFEST={shlex.quote(str(manifest))}
MAX_REQUEUES={int(max_requeues)}
RUN_DIR=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$MANIFEST")
if [ -z "$RUN_DIR" ] || [ ! -d "$RUN_DIR" ]; then
  echo "sciml: no run dir for array task ${{SLURM_ARRAY_TASK_ID}} in $MANIFEST" >&2
  exit 2
fi
exec >>"$RUN_DIR/{STDOUT_LOG}" 2>&1
TASK="${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
RESTARTS="${{SLURM_RESTART_COUNT:-0}}"
RESUME=()
if [ -f "$RUN_DIR/{LAST_CHECKPOINT}" ]; then RESUME=(--resume); fi
echo "sciml: Slurm task $TASK on $(hostname) (restart $RESTARTS)"
CHILD=""
SIGNALLED=""
forward() {{ SIGNALLED=1; if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null; fi; }}
trap forward TERM INT USR1
{cmd} "$RUN_DIR" "${{RESUME[@]}}" &
CHILD=$!
if [ -n "$SIGNALLED" ]; then kill -TERM "$CHILD" 2>/dev/null; fi
STATUS=""
while :; do
  SIGNALLED=""
  wait "$CHILD"; RC=$?
  # 127 after an earlier answer: that answer was the child's own status (it died as a signal came)
  if [ "$RC" -eq 127 ] && [ -n "$STATUS" ]; then break; fi
  STATUS=$RC
  # a wait cut short by a forwarded signal returns above 128: wait again for the real status
  if [ -z "$SIGNALLED" ] || [ "$RC" -le 128 ]; then break; fi
done
if [ "$STATUS" -ne {EXIT_PREEMPTED} ]; then exit "$STATUS"; fi
if grep -Eq '"paused_after": *[0-9]' "$RUN_DIR/{PREEMPTED_FILE}" 2>/dev/null; then
  echo "sciml: paused at an lr-search rung: task $TASK is not requeued (the lr search continues the run)"
elif [ -e "$RUN_DIR/{CANCELLED_FILE}" ]; then
  echo "sciml: stopped by sciml cancel: task $TASK is not requeued"
elif STATE=$(squeue --noheader --jobs "$TASK" --format %T 2>/dev/null | head -n 1) && [ -n "$STATE" ] \
    && [ "$STATE" != RUNNING ] && [ "$STATE" != PREEMPTED ]; then
  echo "sciml: Slurm task $TASK is $STATE (scancel or the time limit): it is not requeued"
elif [ "$RESTARTS" -ge "$MAX_REQUEUES" ]; then
  echo "sciml: preempted again after $RESTARTS requeue(s) (limit $MAX_REQUEUES): task $TASK is not requeued; sciml resume continues it"
elif scontrol requeue "$TASK"; then
  echo "sciml: preempted: requeued Slurm task $TASK (requeue $((RESTARTS + 1)) of at most $MAX_REQUEUES); it resumes from its checkpoint"
  # a cancel that came while requeueing must not be undone
  if [ -e "$RUN_DIR/{CANCELLED_FILE}" ]; then scancel "$TASK"; fi
else
  echo "sciml: preempted: scontrol requeue $TASK failed; sciml resume continues the run"
fi
exit {EXIT_PREEMPTED}
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
    """`sbatch --parsable --array=0-(n-1)[%K] --requeue ... SCRIPT` as an argument list."""
    if n_tasks < 1:
        raise ValueError("an array needs at least one task")
    array = f"0-{n_tasks - 1}" + (f"%{options.array_limit}" if options.array_limit else "")
    settings = {"job-name": name, "ntasks": "1", "cpus-per-task": "1"}
    settings.update(options.extra())
    argv = ["sbatch", "--parsable", f"--array={array}", "--requeue", f"--output={output}", f"--chdir={chdir}"]
    if dependency:
        argv += [f"--dependency=afterok:{':'.join(dependency)}", "--kill-on-invalid-dep=yes"]
    argv += [f"--{k}={v}" for k, v in settings.items()]
    return argv + [str(script)]
