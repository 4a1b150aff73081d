"""The PDE data engine: Gaussian-lattice sources, SYS-1/2/3 spectral solves, HDF5 datasets.

Public API (imported lazily, so ``import sciml_tui.physics`` loads neither numpy nor h5py):

- ``generate_dataset(system, lo, hi, n, sizes, seed, out_dir, overwrite=False,
  paired_sources=False, progress=None) -> dict``
- ``read_dataset(path, rows=None) -> (fields, tensor, other, attrs)``
- ``dataset_info(path) -> dict``; ``verify_hash(path) -> bool``
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "generate_dataset": "sciml_tui.physics.generate",
    "validate_options": "sciml_tui.physics.generate",
    "normalize_system": "sciml_tui.physics.generate",
    "read_dataset": "sciml_tui.physics.h5io",
    "verify_hash": "sciml_tui.physics.h5io",
    "dataset_info": "sciml_tui.physics.info",
    "realized_parameters": "sciml_tui.physics.info",
    "SYSTEMS": "sciml_tui.physics.systems",
    "TENSOR_WIDTH": "sciml_tui.physics.systems",
    "GENERATOR_VERSION": "sciml_tui.physics.blocks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sciml_tui.physics' has no attribute {name!r}")
