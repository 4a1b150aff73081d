import pytest
import torch

from sciml_tui.errors import UserError
from sciml_tui.learning.fno import FNO2d
from sciml_tui.learning.param_count import count_params
from sciml_tui.learning.presets import PRESETS, preset_table, resolve_model
from sciml_tui.learning.spectral_conv import SpectralConv2d, spectral_conv_reference

SCIENCE_COUNTS = {"fno-64k": 67_281, "fno-1m": 1_055_137, "fno-17m": 16_802_625, "fno-268m": 268_535_425}


@pytest.mark.parametrize("name,expected", SCIENCE_COUNTS.items())
def test_preset_param_counts_match_science(name, expected):
    width, modes = PRESETS[name]
    assert count_params(4, width, modes) == expected
    if expected < 20_000_000:  # the 268M one is checked on the meta device below
        model = FNO2d(4, width, modes)
        assert sum(p.numel() for p in model.parameters()) == expected


def test_268m_counted_on_meta_device_without_allocating():
    with torch.device("meta"):
        model = FNO2d(4, *PRESETS["fno-268m"])
    assert sum(p.numel() for p in model.parameters()) == 268_535_425


@pytest.mark.parametrize("in_ch", [3, 4, 6, 7])
def test_count_params_matches_module_for_other_channel_counts(in_ch):
    model = FNO2d(in_ch, 8, 4)
    assert count_params(in_ch, 8, 4) == sum(p.numel() for p in model.parameters())


def test_preset_table_lists_every_preset():
    rows = {r["name"]: r for r in preset_table()}
    assert set(rows) == set(PRESETS)
    assert rows["fno-67m"]["width"] == 64 and rows["fno-67m"]["modes"] == 32
    assert rows["fno-1m"]["params"] == 1_055_137


def test_resolve_model():
    assert resolve_model("fno-1m", None, None) == (32, 8)
    assert resolve_model("fno-1m", 12, None) == (12, 8)
    with pytest.raises(UserError, match="unknown model preset"):
        resolve_model("fno-3", None, None)


@pytest.mark.parametrize("b,i,o,h,w,m", [(2, 3, 5, 16, 16, 4), (1, 4, 4, 32, 32, 16), (3, 2, 6, 24, 20, 5),
                                         (2, 8, 8, 33, 17, 3)])
def test_fast_spectral_conv_equals_reference(b, i, o, h, w, m):
    torch.manual_seed(0)
    conv = SpectralConv2d(i, o, m)
    x = torch.randn(b, i, h, w, requires_grad=True)
    fast = conv(x)
    ref = spectral_conv_reference(x, conv.weight, m)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-6)
    g = torch.randn_like(fast)
    gx_fast, gw_fast = torch.autograd.grad(fast, (x, conv.weight), g)
    gx_ref, gw_ref = torch.autograd.grad(ref, (x, conv.weight), g)
    torch.testing.assert_close(gx_fast, gx_ref, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(gw_fast, gw_ref, rtol=1e-4, atol=1e-6)


def test_too_many_modes_is_a_user_error():
    conv = SpectralConv2d(2, 2, 9)
    with pytest.raises(UserError, match="modes"):
        conv(torch.zeros(1, 2, 16, 16))


def test_fno_output_shape_at_several_resolutions():
    model = FNO2d(4, 8, 4)
    for n in (16, 32):
        assert model(torch.randn(2, 4, n, n)).shape == (2, 1, n, n)


def test_bf16_autocast_leaves_the_fft_path_in_fp32():
    from sciml_tui.learning.trainer import autocast_for

    torch.manual_seed(0)
    conv = SpectralConv2d(4, 4, 4)
    x = torch.randn(2, 4, 16, 16)
    with autocast_for("bf16", x.device):
        inside = conv(x)
        model_out = FNO2d(4, 8, 4)(x)
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, conv(x), rtol=0, atol=0)
    assert model_out.dtype == torch.bfloat16  # the pointwise layers did run in bf16
