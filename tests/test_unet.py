import pytest
import torch

from fnaf.models import CheckpointError, UNet, load_weights


def test_parameter_count_matches_fastmri():
    assert sum(p.numel() for p in UNet(chans=32).parameters()) == 7_756_097


def test_state_dict_keys_and_shapes_match_fastmri():
    state = UNet(chans=32).state_dict()
    assert len(state) == 24  # conv weights, plus the bias of the 1x1 head
    expected = {
        "down_sample_layers.0.layers.0.weight": (32, 1, 3, 3),
        "down_sample_layers.0.layers.4.weight": (32, 32, 3, 3),
        "down_sample_layers.3.layers.4.weight": (256, 256, 3, 3),
        "conv.layers.0.weight": (512, 256, 3, 3),
        "conv.layers.4.weight": (512, 512, 3, 3),
        "up_transpose_conv.0.layers.0.weight": (512, 256, 2, 2),
        "up_transpose_conv.3.layers.0.weight": (64, 32, 2, 2),
        "up_conv.0.layers.0.weight": (256, 512, 3, 3),
        "up_conv.0.layers.4.weight": (256, 256, 3, 3),
        "up_conv.3.0.layers.0.weight": (32, 64, 3, 3),
        "up_conv.3.0.layers.4.weight": (32, 32, 3, 3),
        "up_conv.3.1.weight": (1, 32, 1, 1),
        "up_conv.3.1.bias": (1,),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key


@pytest.mark.parametrize("size", [(32, 32), (37, 29), (20, 45)])
def test_any_input_size(size):
    model = UNet(chans=4, num_pool_layers=2).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, *size)).shape == (2, 1, *size)


def test_loads_plain_and_lightning_checkpoints(tmp_path):
    source, target = UNet(chans=4, num_pool_layers=2), UNet(chans=4, num_pool_layers=2)
    torch.save(source.state_dict(), tmp_path / "plain.pt")
    load_weights(target, tmp_path / "plain.pt")
    assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(),
                                                 target.state_dict().values()))
    lightning = {"state_dict": {f"unet.{k}": v for k, v in source.state_dict().items()},
                 "epoch": 3}
    torch.save(lightning, tmp_path / "lightning.ckpt")
    fresh = load_weights(UNet(chans=4, num_pool_layers=2), tmp_path / "lightning.ckpt")
    assert torch.equal(fresh.up_conv[-1][1].bias, source.up_conv[-1][1].bias)


def test_mismatched_checkpoint_names_the_problem(tmp_path):
    torch.save(UNet(chans=8, num_pool_layers=2).state_dict(), tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other.pt does not fit UNet: .*shape mismatches"):
        load_weights(UNet(chans=4, num_pool_layers=2), tmp_path / "other.pt")
    torch.save(UNet(chans=4, num_pool_layers=3).state_dict(), tmp_path / "deeper.pt")
    with pytest.raises(CheckpointError, match="unexpected keys"):
        load_weights(UNet(chans=4, num_pool_layers=2), tmp_path / "deeper.pt")
    with pytest.raises(FileNotFoundError, match="no such weight file"):
        load_weights(UNet(), tmp_path / "missing.pt")


def test_a_truncated_weight_file_names_the_file_and_the_fix(tmp_path):
    from fnaf.io import DamagedFileError

    torch.save(UNet(chans=4, num_pool_layers=2).state_dict(), tmp_path / "unet.pt")
    (tmp_path / "unet.pt").write_bytes((tmp_path / "unet.pt").read_bytes()[:1000])
    with pytest.raises(DamagedFileError, match="unet.pt: cannot be read .* copy the weight file"):
        load_weights(UNet(chans=4, num_pool_layers=2), tmp_path / "unet.pt")
