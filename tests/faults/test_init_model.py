"""A fine-tune's model against its init checkpoint: taken from it when omitted, else must match."""

from __future__ import annotations

import pytest

from sciml_tui.errors import UserError

torch = pytest.importorskip("torch")

from sciml_tui.learning.checkpoint import FORMAT, init_model  # noqa: E402
from sciml_tui.learning.config import RunConfig  # noqa: E402
from sciml_tui.learning.run import with_init_model  # noqa: E402


def _ckpt(path, width, modes, layers=4):
    arch = {"in_channels": 4, "width": width, "modes": modes, "layers": layers, "out_channels": 1}
    torch.save({"format": FORMAT, "arch": arch, "model": {}}, path)
    return str(path)


def test_omitted_model_is_the_checkpoints_named_by_its_preset(tmp_path):
    assert init_model(None, _ckpt(tmp_path / "a.pt", 32, 8)) == {"preset": "fno-1m", "width": None, "modes": None,
                                                                  "layers": 4}
    assert init_model(None, _ckpt(tmp_path / "b.pt", 10, 3, 2)) == {"preset": None, "width": 10, "modes": 3,
                                                                     "layers": 2}


def test_a_named_preset_other_than_the_checkpoints_is_refused(tmp_path):
    path = _ckpt(tmp_path / "a.pt", 32, 8)
    with pytest.raises(UserError, match=r"asks for model tiny .* holds a model of fno-1m .* name fno-1m"):
        init_model({"preset": "tiny", "width": None, "modes": None, "layers": 4}, path)
    same = {"preset": "fno-1m", "width": None, "modes": None, "layers": 4}
    assert init_model(same, path) == same


def test_the_resolved_config_records_what_is_trained(tmp_path):
    path = _ckpt(tmp_path / "a.pt", 64, 16)
    cfg = RunConfig(mode="finetune", data=[{"path": "d"}], init_checkpoint=path)
    assert with_init_model(cfg, model_given=False).model.preset == "fno-17m"
    with pytest.raises(UserError, match="holds a model of fno-17m"):
        with_init_model(cfg, model_given=True)  # the default preset (tiny), now said explicitly
