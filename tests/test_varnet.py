"""The End-to-End VarNet: fastMRI's key layout, a numerical anchor, input layouts, weight files."""

import pytest
import torch

from fnaf.models import CheckpointError, load_weights
from fnaf.models.varnet import VarNet, low_frequency_columns


def formula_weights(model):
    """Weights from a formula (no random numbers): parameter i, entry j = 0.2 sin(0.7 j + i)."""
    with torch.no_grad():
        for i, tensor in enumerate(model.state_dict().values()):
            values = 0.2 * torch.sin(torch.arange(tensor.numel(), dtype=torch.float64) * 0.7 + i)
            tensor.copy_(values.reshape(tensor.shape).to(tensor.dtype))
    return model


def anchor_inputs():
    """Three coils of 24 x 20 k-space from a formula, nine sampled columns (four central)."""
    coils, height, width = 3, 24, 20
    grid = torch.arange(coils * height * width, dtype=torch.float64).reshape(1, coils, height,
                                                                             width)
    kspace = torch.complex(torch.sin(grid * 0.31), torch.cos(grid * 0.17)).to(torch.complex64)
    columns = torch.zeros(width, dtype=torch.bool)
    columns[[1, 4, 8, 9, 10, 11, 12, 15, 18]] = True
    return kspace * columns, columns


def small_varnet():
    return formula_weights(VarNet(num_cascades=2, sens_chans=4, sens_pools=2, chans=4, pools=2))


def test_default_size_has_fastmris_keys_and_parameter_count():
    state = VarNet().state_dict()
    assert len(state) == 324  # 13 U-Nets of 24 tensors, 12 dc weights
    assert sum(t.numel() for t in state.values()) == 29_936_966  # fastMRI: about 29.9M
    assert "sens_net.norm_unet.unet.down_sample_layers.0.layers.0.weight" in state
    assert "cascades.11.model.unet.up_conv.3.1.bias" in state
    assert state["cascades.0.dc_weight"].shape == (1,)


def test_output_matches_fastmri_anchor():
    # Values computed by fastmri 0.3.0's VarNet with the same formula weights and inputs
    # (real (1, 3, 24, 20, 2) k-space, bool (1, 1, 1, 20, 1) mask); it agreed with this
    # implementation to 1e-6 on every pixel.
    kspace, columns = anchor_inputs()
    with torch.no_grad():
        output = small_varnet().eval()(kspace, columns.float().reshape(1, 1, 1, -1))
    assert output.shape == (1, 24, 20)
    assert output.sum().item() == pytest.approx(322.9052734375, rel=1e-5)
    assert output[0, 12, 10].item() == pytest.approx(3.179145336151123, rel=1e-5)
    assert output[0, 3, 7].item() == pytest.approx(0.1052437275648117, rel=1e-4)
    assert output[0, 20, 2].item() == pytest.approx(0.1759636253118515, rel=1e-4)


def test_fastmri_layouts_and_single_coil_input():
    kspace, columns = anchor_inputs()
    model = small_varnet().eval()
    with torch.no_grad():
        ours = model(kspace, columns.float().reshape(1, 1, 1, -1))
        theirs = model(torch.view_as_real(kspace), columns.reshape(1, 1, 1, -1, 1))
        single = model(kspace[:, 0], columns.reshape(1, 1, -1))
    torch.testing.assert_close(ours, theirs)
    assert single.shape == (1, 24, 20) and torch.isfinite(single).all()
    with pytest.raises(ValueError, match=r"\(B, C, H, W, 2\)"):
        model(torch.zeros(1, 3, 24, 20), columns)


def test_auto_calibration_columns():
    columns = torch.zeros(2, 20, dtype=torch.bool)
    columns[0, 8:13] = True  # 10, 11, 12 right of the centre (10); 8, 9 left: count 2 * 2
    columns[1, [3, 10]] = True
    start, count = low_frequency_columns(columns)
    assert count.tolist() == [4, 1] and start.tolist() == [8, 10]
    start, count = low_frequency_columns(columns, num_low_frequencies=6)
    assert count.tolist() == [6, 6] and start.tolist() == [7, 7]


def test_weights_load_with_weights_only_and_mismatches_are_named(tmp_path):
    path = tmp_path / "varnet.pt"
    torch.save(small_varnet().state_dict(), path)
    loaded = load_weights(VarNet(num_cascades=2, sens_chans=4, sens_pools=2, chans=4, pools=2),
                          path)
    torch.testing.assert_close(loaded.state_dict(), small_varnet().state_dict())
    with pytest.raises(CheckpointError, match="missing keys.*cascades.2"):
        load_weights(VarNet(num_cascades=3, sens_chans=4, sens_pools=2, chans=4, pools=2), path)
    with pytest.raises(CheckpointError, match="shape mismatches.*cascades"):
        load_weights(VarNet(num_cascades=2, sens_chans=4, sens_pools=2, chans=8, pools=2), path)
