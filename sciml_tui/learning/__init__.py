"""FNO models, datasets and the training engine.

Light modules (no torch at import): `config` (RunConfig), `presets`, `param_count`,
`metrics_log` (read_metrics, read_result), `runtime_env` (training_env), `run` (config IO),
`cadence` (validation_plan), `preemption` (SIGTERM handling, exit code 75).
Heavy ones: `fno`, `spectral_conv`, `data`, `trainer`, `checkpoint`, `entry`
(`python -m sciml_tui.learning.entry RUN_DIR [--resume]`).
"""
