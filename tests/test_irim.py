import argparse
import pathlib

import numpy as np
import pytest
import torch

from fnaf.losses import IrimSSIMLoss, SSIMLoss
from fnaf.models import IRIM, CheckpointError, load_irim_checkpoint, metadata_one_hot
from fnaf.models.invertible import (
    DataConsistencyUpdate,
    Householder1x1,
    InvertibleUnet,
    ResidualBlockPixelshuffle,
    RevNetLayer,
)
from fnaf.models.irim import SCANNER_CONTRASTS
from fnaf.mri import undersample

TINY = {"n_steps": 2, "n_hidden": 16, "n_network_hidden": [8, 12, 8], "dilations": [1, 2, 1],
        "multiplicity": 2, "n_metadata": 4}


def tiny_inputs(dtype=torch.complex64, size=(20, 18), batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    zero_filled = torch.randn(batch, *size, dtype=dtype, generator=generator)
    mask = torch.rand(batch, 1, size[1], generator=generator) > 0.5
    metadata = torch.eye(TINY["n_metadata"])[:batch]
    return zero_filled, mask, metadata


def test_paper_preset_parameter_count_and_keys():
    with torch.device("meta"):
        model = IRIM.paper()
    assert sum(p.numel() for p in model.parameters()) == 275_247_552
    state = model.state_dict()
    assert all(k.startswith(("model.model.rnn.", "output_function.")) for k in state)
    expected = {
        "model.model.rnn.0.layers.0.update_right.l1.weight_v": (64, 32, 1, 1),
        "model.model.rnn.7.layers.5.update_right.l1.weight_g": (1024, 1, 1, 1),
        "model.model.rnn.7.layers.5.update_right.l1.weight_v": (1024, 32, 8, 8),
        "model.model.rnn.7.layers.5.update_right.l1.bias": (1024,),
        "model.model.rnn.7.layers.5.update_right.l2.weight_v": (1024, 1024, 3, 3),
        "model.model.rnn.7.layers.5.update_right.l3.weight_g": (1024, 1, 1, 1),
        "model.model.rnn.7.layers.5.update_right.l3.weight_v": (1024, 64, 8, 8),
        "model.model.rnn.3.embeddings.11.weights": (3, 64, 1),
        "model.model.rnn.3.embeddings.11.I": (64, 64),
        "output_function.l1.weight_v": (64, 64, 1, 1),
        "output_function.l3.weight_g": (64, 1, 1, 1),
        "output_function.l3.weight_v": (64, 2, 1, 1),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert "model.model.rnn.0.layers.0.update_right.l3.bias" not in state
    assert sorted(k for k in state if k.startswith("output_function.")) == [
        f"output_function.{name}" for name in ["l1.bias", "l1.weight_g", "l1.weight_v", "l2.bias",
                                               "l2.weight_g", "l2.weight_v", "l3.weight_g",
                                               "l3.weight_v"]]
    assert len(state) == 8 * 12 * (8 + 2) + 8


def test_householder_is_orthogonal_and_inverts():
    layer = Householder1x1(6, n_householder=3)
    w = layer.matrix()
    torch.testing.assert_close(w @ w.t(), torch.eye(6), atol=1e-6, rtol=0)
    x = torch.randn(2, 6, 5, 7)
    torch.testing.assert_close(layer.reverse(layer(x)), x, atol=1e-5, rtol=0)
    assert Householder1x1(4, n_householder=1).matrix().shape == (4, 4)


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_residual_block_keeps_odd_sizes(dilation):
    block = ResidualBlockPixelshuffle(3, 5, 8, dilation=dilation)
    assert block(torch.randn(2, 3, 37, 29)).shape == (2, 5, 37, 29)


@pytest.mark.parametrize("dilation", [2, 4])
def test_revnet_layer_and_unet_invert_on_odd_sizes(dilation):
    torch.manual_seed(0)
    x = torch.randn(2, 10, 37, 29)
    layer = RevNetLayer(8, 6, dilation)  # two extra channels pass through
    y = layer(x)
    torch.testing.assert_close(y[:, :4], x[:, :4])
    torch.testing.assert_close(y[:, 8:], x[:, 8:])
    assert not torch.allclose(y[:, 4:8], x[:, 4:8])
    torch.testing.assert_close(layer.reverse(y), x, atol=1e-5, rtol=0)
    unet = InvertibleUnet([10] * 3, [6, 8, 6], [1, dilation, 1])
    torch.testing.assert_close(unet.reverse(unet(x)), x, atol=1e-5, rtol=0)


def test_data_consistency_update_adds_the_data_gradient():
    torch.manual_seed(0)
    update = DataConsistencyUpdate(4)  # multiplicity 2
    x, y = torch.randn(2, 9, 8, 6), torch.randn(2, 2, 8, 6, dtype=torch.complex64)
    mask = (torch.rand(2, 1, 1, 6) > 0.5).float()
    out = update(x, y, mask)
    eta = torch.complex(x[:, :2], x[:, 2:4])
    grad = undersample(eta, mask) - y
    torch.testing.assert_close(out[:, 4:8], x[:, 4:8] + torch.cat((grad.real, grad.imag), 1))
    torch.testing.assert_close(out[:, :4], x[:, :4])
    torch.testing.assert_close(out[:, 8:], x[:, 8:])
    torch.testing.assert_close(update.reverse(out, y, mask), x, atol=1e-6, rtol=0)


def test_whole_recurrence_inverts():
    torch.manual_seed(0)
    recurrence = IRIM(**TINY).model.model.double()  # float32 drifts to ~1e-5 over 2 steps
    x = torch.randn(2, 16, 37, 29, dtype=torch.float64)
    y = torch.randn(2, 2, 37, 29, dtype=torch.complex128)
    mask = (torch.rand(2, 1, 1, 29) > 0.5).double()
    output = recurrence(x, y, mask)
    assert (output - x).abs().mean() > 0.1
    torch.testing.assert_close(recurrence.reverse(output, y, mask), x, atol=1e-10, rtol=0)


def test_memory_free_gradients_equal_autograd():
    torch.manual_seed(0)
    memory_free = IRIM(**TINY, memory_free=True).double()
    plain = IRIM(**TINY, memory_free=False).double()
    plain.load_state_dict(memory_free.state_dict())
    zero_filled, mask, metadata = tiny_inputs(torch.complex128)
    results = []
    for model in (memory_free, plain):
        image = zero_filled.clone().requires_grad_(True)
        output = model(image, mask, metadata.double(), (16, 16))
        (output.abs() ** 2).mean().backward()
        results.append((output.detach(), image.grad,
                        {name: p.grad for name, p in model.named_parameters()}))
    (out_free, input_free, grads_free), (out_plain, input_plain, grads_plain) = results
    torch.testing.assert_close(out_free, out_plain)
    torch.testing.assert_close(input_free, input_plain, atol=1e-10, rtol=1e-7)
    assert grads_free.keys() == grads_plain.keys()
    for name, grad in grads_plain.items():
        assert grad is not None and grad.abs().sum() > 0, name
        torch.testing.assert_close(grads_free[name], grad, atol=1e-10, rtol=1e-7, msg=name)


def saved_elements(model: IRIM) -> int:
    """Elements autograd keeps for backward during one forward."""
    saved = []

    def pack(tensor):
        saved.append(tensor.numel())
        return tensor

    zero_filled, mask, metadata = tiny_inputs()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(zero_filled, mask, metadata).abs().sum()
    return sum(saved)


def test_memory_free_activations_do_not_grow_with_steps():
    sizes = {(memory_free, n_steps): saved_elements(
        IRIM(**{**TINY, "n_steps": n_steps}, memory_free=memory_free))
        for memory_free in (True, False) for n_steps in (1, 3)}
    assert sizes[True, 1] == sizes[True, 3]
    assert sizes[False, 3] > 2 * sizes[False, 1] > 2 * sizes[True, 1]


def test_forward_shapes_and_scale_equivariance():
    torch.manual_seed(0)
    model = IRIM(n_steps=2, n_hidden=24, n_network_hidden=[8, 8], dilations=[1, 2]).eval()
    zero_filled = torch.randn(2, 64, 40, dtype=torch.complex64)
    mask = torch.zeros(2, 40, dtype=torch.bool)
    mask[:, ::3] = True
    metadata = torch.stack([metadata_one_hot("Skyra", "CORPD_FBK"),
                            metadata_one_hot("Aera", "CORPDFS_FBK")])
    with torch.no_grad():
        output = model(zero_filled, mask, metadata, (32, 32))
        scaled = model(10 * zero_filled, mask.unsqueeze(1), metadata, (32, 32))
    assert output.shape == (2, 64, 40) and output.dtype == torch.complex64
    torch.testing.assert_close(scaled, 10 * output, rtol=1e-4, atol=1e-5)


def test_initial_state_layout():
    model = IRIM(**TINY)
    captured = {}
    model.model.register_forward_pre_hook(lambda module, args: captured.update(args=args))
    zero_filled, mask, metadata = tiny_inputs()
    with torch.no_grad():
        model(zero_filled, mask, metadata)
    state, y, _ = captured["args"]
    gamma = torch.view_as_real(zero_filled).reshape(2, -1).std(dim=1)[:, None, None] + 1e-6
    for copy in range(2):  # multiplicity 2: re, re, im, im
        torch.testing.assert_close(y[:, copy], zero_filled / gamma)
        torch.testing.assert_close(state[:, copy], (zero_filled / gamma).real)
        torch.testing.assert_close(state[:, 2 + copy], (zero_filled / gamma).imag)
    assert state[:, 4:12].abs().max() == 0
    torch.testing.assert_close(state[:, 12:], metadata[:, :, None, None].expand(-1, -1, 20, 18))


def test_residual_output_passes_an_idle_machine_its_input():
    """With every coupling network and the output function silenced, the state's image
    channels stay the (rescaled) zero-filled input: the residual head returns the input, the
    release's parametric head returns zeros. Both have the release's weight layout."""
    zero_filled, mask, metadata = tiny_inputs()
    outputs = {}
    for residual in (False, True):
        torch.manual_seed(0)
        model = IRIM(**TINY, residual_output=residual).eval()
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if name.endswith("l3.weight_g"):
                    parameter.zero_()
            outputs[residual] = model(zero_filled, mask, metadata)
        keys = list(model.state_dict())
    torch.testing.assert_close(outputs[True], zero_filled, rtol=1e-5, atol=1e-6)
    assert outputs[False].abs().max() == 0
    assert keys == list(IRIM(**TINY).state_dict())


def test_metadata_one_hot_order_and_errors():
    assert SCANNER_CONTRASTS[0] == "fs_1_5T_Aera" and SCANNER_CONTRASTS[-1] == "non_fs_3T_Skyra"
    cases = [("Aera", "CORPDFS_FBK", 0), ("Aera", "CORPD_FBK", 1),
             ("Biograph_mMR", "CORPDFS_FBK", 2), ("Biograph_mMR", "CORPD_FBK", 3),
             ("Prisma_fit", "CORPDFS_FBK", 4), ("Prisma_fit", "CORPD_FBK", 5),
             ("Skyra", "CORPDFS_FBKREPEAT", 6), ("Skyra", "CORPD_FBK", 7)]
    for system_model, acquisition, index in cases:
        one_hot = metadata_one_hot(system_model, acquisition)
        assert one_hot.shape == (8,) and one_hot.sum() == 1 and one_hot[index] == 1
    with pytest.raises(ValueError, match="'Avanto'.*Aera, Biograph, Prisma, Skyra"):
        metadata_one_hot("Avanto", "CORPD_FBK")
    with pytest.raises(ValueError, match="None"):
        metadata_one_hot(None, "CORPD_FBK")
    with pytest.raises(ValueError, match="'AXT2'"):
        metadata_one_hot("Skyra", "AXT2")


@pytest.mark.parametrize("kwargs, message", [
    ({"dilations": [1, 2]}, "n_network_hidden has 3 entries and dilations 2"),
    ({"n_hidden": 11}, "n_hidden=11 .* at least 12"),
    ({"n_steps": 0}, "n_steps must be an integer >= 1, not 0"),
    ({"dilations": [1, 0, 1]}, r"dilations .* not \[1, 0, 1\]"),
    ({"multiplicity": 0}, "multiplicity"),
])
def test_argument_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IRIM(**{**TINY, **kwargs})


def test_input_validation():
    model = IRIM(**TINY)
    zero_filled, mask, metadata = tiny_inputs()
    with pytest.raises(ValueError, match="complex"):
        model(zero_filled.real, mask, metadata)
    with pytest.raises(ValueError, match="does not fit"):
        model(zero_filled, mask[..., :-1], metadata)
    with pytest.raises(ValueError, match=r"metadata must be \(2, 4\)"):
        model(zero_filled, mask, torch.zeros(2, 8))


def test_loads_official_style_checkpoint(tmp_path):
    torch.manual_seed(0)
    source = IRIM(**TINY)
    args = argparse.Namespace(n_steps=2, multiplicity=2, exp_dir=pathlib.PosixPath("/exp"),
                              data_path=pathlib.PosixPath("/data"), lr=1e-4)
    torch.save({"epoch": 3, "args": args,
                "model": {f"module.{k}": v for k, v in source.state_dict().items()},
                "optimizer": torch.optim.Adam(source.parameters()).state_dict(),
                "best_dev_loss": np.float64(0.75), "exp_dir": pathlib.PosixPath("/exp")},
               tmp_path / "model.pt")
    target = load_irim_checkpoint(IRIM(**TINY), tmp_path / "model.pt")
    zero_filled, mask, metadata = tiny_inputs()
    with torch.no_grad():
        assert torch.equal(target(zero_filled, mask, metadata), source(zero_filled, mask, metadata))

    torch.save({"args": args, "model": IRIM(**{**TINY, "n_hidden": 20}).state_dict()},
               tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="other.pt does not fit IRIM: .*shape mismatches"):
        load_irim_checkpoint(IRIM(**TINY), tmp_path / "other.pt")


def test_irim_ssim_loss():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 32, 32, generator=generator)
    y = (x + 0.3 * torch.rand(2, 1, 32, 32, generator=generator)).requires_grad_(True)
    data_range = torch.stack([y[0].max(), y[1].max()]).detach()
    scale = data_range.reshape(-1, 1, 1, 1)
    loss = IrimSSIMLoss()
    assert loss(x / scale, x / scale).item() == pytest.approx(-1, abs=1e-6)
    # This pair: i-RIM SSIM 0.9269, fastMRI SSIM 0.9284 (reflect padding and biased variances)
    irim_ssim, fastmri_ssim = -loss(y / scale, x / scale), 1 - SSIMLoss()(y, x, data_range)
    assert irim_ssim.item() == pytest.approx(0.9269, abs=1e-4)
    assert fastmri_ssim.item() == pytest.approx(0.9284, abs=1e-4)
    irim_ssim.backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
