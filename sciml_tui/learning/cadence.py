"""Which epochs a run validates, and on how many samples (no torch: cost estimators use it too).

The rule keeps validation a bounded share of the training work. A training sample costs a
forward and a backward pass, about three forward passes (`TRAIN_SAMPLE_PASSES`); a validation
sample costs one. With W = epochs x trained samples per epoch x 3, a run may spend
V = share x W forward passes on validation:

- evaluations m = floor(V / n_val), at least `min_evals` (and at most `epochs`), spread
  evenly over the run and always including the last epoch;
- each evaluation sees the whole validation split when m x n_val fits in V, else a fixed
  strided subset of floor(V / m) samples, at least `min_samples` (small-N runs: a model
  chosen among few epochs on too few samples would be chosen by noise).

The best epoch is chosen among the evaluated ones; the trainer then measures the chosen
weights on the whole validation split once, so `best_val_error` (which picks the learning
rate) is always a full-split number. `share=None` is the seed's rule: every epoch, whole split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

TRAIN_SAMPLE_PASSES = 3


@dataclass(frozen=True)
class ValidationPlan:
    epochs: list[int]  # the evaluated epochs, ascending; the last epoch is always one
    samples: int  # validation samples per evaluation (== n_val: the whole split)

    @property
    def passes(self) -> int:
        """Forward passes spent on validation during the epochs (the final full pass excluded)."""
        return len(self.epochs) * self.samples


def trained_per_epoch(n_train: int, batch_size: int) -> int:
    """Samples one epoch trains on: full batches of min(batch_size, N), the remainder dropped."""
    bs = min(batch_size, n_train)
    return (n_train // bs) * bs


def validation_plan(epochs: int, n_train: int, n_val: int, *, batch_size: int, share: Optional[float] = 0.1,
                    min_evals: int = 10, min_samples: int = 128, extra: Sequence[int] = ()) -> ValidationPlan:
    """The rule above; `extra` epochs (in 1..epochs) are evaluated too, on the same samples."""
    if epochs < 1 or n_train < 1 or n_val < 1:
        raise ValueError(f"epochs, n_train and n_val must be positive (got {epochs}, {n_train}, {n_val})")
    added = {e for e in extra if 1 <= e <= epochs}
    if share is None:
        return ValidationPlan(list(range(1, epochs + 1)), n_val)
    budget = share * epochs * trained_per_epoch(n_train, batch_size) * TRAIN_SAMPLE_PASSES
    evals = min(epochs, max(min_evals, math.floor(budget / n_val)))
    samples = n_val if evals * n_val <= budget else min(n_val, max(min_samples, math.floor(budget / evals)))
    return ValidationPlan(sorted({math.ceil(epochs * i / evals) for i in range(1, evals + 1)} | added), samples)


def validation_epochs(epochs: int, n_train: int, n_val: int, *, batch_size: int, share: Optional[float] = 0.1,
                      min_evals: int = 10, min_samples: int = 128, extra: Sequence[int] = ()) -> list[int]:
    """The evaluated epochs under the rule above (1-based, ascending, last included)."""
    return validation_plan(epochs, n_train, n_val, batch_size=batch_size, share=share, min_evals=min_evals,
                           min_samples=min_samples, extra=extra).epochs


def subset_rows(n_val: int, samples: int) -> list[int]:
    """A fixed strided subset of the validation split (it spans the split's vf blocks)."""
    return [i * n_val // samples for i in range(samples)]


# -- was the run still improving when it stopped? ---------------------------------------------
LATE_FRACTION = 0.9  # "the last 10% of the epochs": epochs after 90% of those run
LATE_GAIN = 0.01  # a relative fall of the best validation error worth more epochs


def late_gain(val_errors: dict[int, float], epochs: int) -> Optional[float]:
    """How much the last 10% of the epochs lowered the best validation error, relative:
    (best up to 90% of `epochs` - best overall) / best up to 90%; 0.0 when they did not
    improve it, None when no epoch up to 90% was evaluated (or the errors are not finite).

    Under the cosine schedule the lr of the last 10% of the epochs is below 2.5% of its peak,
    so a converged run often has its best epoch there while the error no longer moves; a
    gain above `LATE_GAIN` is what says the run was still improving when it stopped.
    """
    early = [v for e, v in val_errors.items() if e <= LATE_FRACTION * epochs and math.isfinite(v)]
    finite = [v for v in val_errors.values() if math.isfinite(v)]
    if not early or not finite or min(early) <= 0:
        return None
    return max(0.0, (min(early) - min(finite)) / min(early))
