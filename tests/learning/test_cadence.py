"""The validation cadence rule (torch-free) that the trainer and cost estimators share."""

import pytest

from sciml_tui.learning.cadence import TRAIN_SAMPLE_PASSES, subset_rows, validation_epochs, validation_plan


def _share(plan, epochs, n_train):
    return plan.passes / (epochs * n_train * TRAIN_SAMPLE_PASSES)


def test_small_n_run_validates_a_bounded_share_instead_of_every_epoch_on_everything():
    plan = validation_plan(500, 8, 4096, batch_size=128)
    assert plan.epochs[-1] == 500 and len(plan.epochs) == 10
    assert plan.epochs == sorted(set(plan.epochs)) and all(1 <= e <= 500 for e in plan.epochs)
    assert plan.samples == 128  # the floor: selection on fewer samples would be noise
    seed_rule = validation_plan(500, 8, 4096, batch_size=128, share=None)
    assert seed_rule.passes == 500 * 4096
    assert plan.passes < seed_rule.passes / 1000


@pytest.mark.parametrize("n_train", [256, 1024, 4096, 16384])
def test_share_is_respected_once_the_floors_fit(n_train):
    plan = validation_plan(500, n_train, 4096, batch_size=128, share=0.1)
    assert _share(plan, 500, n_train) <= 0.1 + 1e-12
    assert plan.epochs[-1] == 500 and len(plan.epochs) >= 10


def test_large_n_validates_on_the_whole_split_and_more_often():
    small, big = validation_plan(500, 512, 4096, batch_size=128), validation_plan(500, 16384, 4096, batch_size=128)
    assert big.samples == 4096 and len(big.epochs) > len(small.epochs)


def test_every_epoch_when_the_budget_allows_it_or_the_run_is_short():
    assert validation_epochs(3, 32, 8, batch_size=8) == [1, 2, 3]
    assert validation_epochs(7, 8, 4096, batch_size=8, min_evals=10) == list(range(1, 8))
    assert validation_epochs(5, 8, 4096, batch_size=8, share=None) == [1, 2, 3, 4, 5]


def test_evaluations_are_spread_evenly_and_end_on_the_last_epoch():
    assert validation_epochs(100, 8, 4096, batch_size=8, min_evals=4) == [25, 50, 75, 100]
    assert validation_epochs(10, 8, 4096, batch_size=8, min_evals=3) == [4, 7, 10]


def test_subset_is_strided_over_the_split():
    rows = subset_rows(4096, 128)
    assert len(set(rows)) == 128 and rows[0] == 0 and rows[-1] >= 4096 - 32


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        validation_plan(0, 8, 8, batch_size=8)
