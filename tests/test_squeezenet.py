"""The SqueezeNet 1.0 patch classifier: torchvision's feature layout and sizes, the paper's and
the released heads, ImageNet features from a local file, and the fine-tuning strategies."""

import pytest
import torch

from fnaf.models import CheckpointError, SqueezeNet, load_imagenet_features

FIRES = (3, 4, 5, 7, 8, 9, 10, 12)  # torchvision's indices of the Fire modules in `features`


def torchvision_feature_keys():
    keys = ["features.0.weight", "features.0.bias"]
    for index in FIRES:
        keys += [f"features.{index}.{conv}.{kind}" for conv in
                 ("squeeze", "expand1x1", "expand3x3") for kind in ("weight", "bias")]
    return keys


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("head", ["paper", "released"])
def test_the_layout_and_sizes_are_torchvisions_with_a_two_class_head(head):
    model = SqueezeNet(head=head)
    keys = list(model.state_dict())
    assert [key for key in keys if key.startswith("features.")] == torchvision_feature_keys()
    assert count(model.features) == 735_424  # squeezenet1_0: 1,248,424 minus its 512->1000 conv
    assert count(model.classifier) == 512 * 512 + 512 + 512 * 2 + 2
    assert [key for key in keys if key.startswith("classifier.")] == [
        "classifier.1.0.weight", "classifier.1.0.bias", "classifier.1.2.weight",
        "classifier.1.2.bias"]  # the released code's replacement of classifier[1]
    model.eval()
    for size, grid in ((32, 1), (64, 3)):
        patches = torch.randn(2, 1, size, size)
        assert model.features(patches.expand(-1, 3, -1, -1)).shape == (2, 512, grid, grid)
        assert model(patches).shape == (2, 2)
        assert torch.allclose(model.probabilities(patches).sum(1), torch.ones(2))
    if head == "released":  # the release keeps torchvision's ReLU on the logits
        assert (model(torch.randn(4, 1, 32, 32)) >= 0).all()


def test_imagenet_features_load_from_a_local_torchvision_file(tmp_path):
    source = SqueezeNet()
    state = {f"features.{k}": v for k, v in source.features.state_dict().items()}
    state.update({"classifier.1.weight": torch.zeros(1000, 512, 1, 1),
                  "classifier.1.bias": torch.zeros(1000)})  # torchvision's ImageNet head
    torch.save(state, tmp_path / "squeezenet1_0.pth")
    model = load_imagenet_features(SqueezeNet(), tmp_path / "squeezenet1_0.pth")
    assert torch.equal(model.features[0].weight, source.features[0].weight)
    state["features.0.weight"] = torch.zeros(64, 3, 3, 3)  # SqueezeNet 1.1's first conv
    torch.save(state, tmp_path / "squeezenet1_1.pth")
    with pytest.raises(CheckpointError, match="wrong shapes \\['0.weight'\\]"):
        load_imagenet_features(SqueezeNet(), tmp_path / "squeezenet1_1.pth")
    with pytest.warns(UserWarning, match="random weights"):
        load_imagenet_features(SqueezeNet(), None)
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load_imagenet_features(SqueezeNet(), tmp_path / "absent.pth")


def test_strategies_choose_what_trains():
    model = SqueezeNet().apply_strategy("head")
    assert not any(p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())
    assert all(p.requires_grad for p in model.apply_strategy("all").parameters())
    with pytest.raises(ValueError, match="unknown strategy"):
        model.apply_strategy("partial")
    with pytest.raises(ValueError, match="unknown head"):
        SqueezeNet(head="resnet")
