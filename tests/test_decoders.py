"""Un-trained decoders (ConvDecoder, Deep Decoder): the size schedule and parameter counts of the
authors' code, grouped networks that equal separate ones, and the fit (eq. 4): the data loss falls,
the best iterate is kept, the final data consistency writes the measurements."""

import pytest
import torch

from fnaf.models.decoders import decoder, hidden_sizes
from fnaf.mri import center_crop, ifft2c, rss
from fnaf.untrained.decoder_fit import DecoderMethod

SMALL = dict(layers=4, channels=8, in_size=(4, 3))


def test_hidden_sizes_follow_the_authors_geometric_schedule():
    # Robustness-CS: 640x368 from 10x5 with 8 layers
    assert hidden_sizes((10, 5), (640, 368), 8) == [
        (19, 10), (33, 18), (60, 32), (108, 59), (196, 108), (354, 200), (640, 368)]


@pytest.mark.parametrize("architecture, coils, expected", [
    # 8 3x3 convolutions with bias, 8 BatchNorms and the 1x1 head with bias (the authors' 4.73M)
    ("convdecoder", 15, 8 * (256 * 256 * 9 + 256) + 8 * 2 * 256 + 256 * 30 + 30),
    # 10 1x1 convolutions without bias, 10 BatchNorms and a 1x1 head without bias
    ("deepdecoder", 15, 10 * 368 * 368 + 10 * 2 * 368 + 368 * 30),
])
def test_parameter_counts_of_the_paper_settings(architecture, coils, expected):
    network = decoder(architecture, (640, 368), coils)
    assert network.parameters_per_network() == expected
    if architecture == "convdecoder":
        assert expected == 4_732_446


@pytest.mark.parametrize("architecture", ["convdecoder", "deepdecoder"])
def test_grouped_networks_compute_what_separate_networks_compute(architecture):
    """Network g of a grouped decoder, given network g's weights and input, gives network g's
    output: the groups never mix (BatchNorm statistics included)."""
    torch.manual_seed(0)
    grouped = decoder(architecture, (24, 16), 2, networks=3, **SMALL)
    noise = grouped.random_input(torch.Generator().manual_seed(1))
    together = grouped(noise)
    single = decoder(architecture, (24, 16), 2, networks=1, **SMALL)
    for g in range(3):
        state = {}
        for name, value in grouped.state_dict().items():
            if value.ndim == 0:  # BatchNorm's num_batches_tracked
                state[name] = value
            else:
                state[name] = value.chunk(3)[g]
        single.load_state_dict(state)
        alone = single(noise.chunk(3, dim=1)[g])
        torch.testing.assert_close(alone[0], together[g], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("settings, message", [
    (dict(in_size=(30, 5)), "cannot be reached"),
    (dict(layers=1), "layers >= 2"),
])
def test_a_decoder_that_cannot_reach_the_grid_is_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        decoder("convdecoder", (24, 16), 2, **{**SMALL, **settings})


@pytest.mark.parametrize("settings, message", [
    (dict(architecture="unet"), "unknown decoder"),
    (dict(iterations=0), "iterations"),
    (dict(lr=0.0), "lr"),
    (dict(scaling="target"), "unknown scaling"),
    (dict(consistency="none"), "unknown consistency"),
    (dict(beta1=1.0), r"beta1 must be in \[0, 1\)"),
])
def test_bad_fit_settings_are_named(settings, message):
    with pytest.raises(ValueError, match=message):
        DecoderMethod(**settings)


@pytest.fixture
def batch(multicoil_batch):
    """The shared multi-coil batch (``conftest.py``)."""
    return multicoil_batch


class Recorded(DecoderMethod):
    """Records every iterate's loss and output, to check the best-iterate rule."""

    def _fit(self, problem, y):
        self.losses, self.outputs = [], []
        original = problem.data_loss

        def data_loss(kspace, estimate=None):
            loss = original(kspace, estimate)
            self.losses.append(loss.detach().clone())
            self.outputs.append(estimate.detach().clone())
            return loss

        problem.data_loss = data_loss
        return super()._fit(problem, y)


def test_the_fit_lowers_the_data_loss_and_keeps_the_best_iterate(batch):
    method = Recorded("convdecoder", iterations=60, **SMALL)
    fit = method.fit(batch)
    losses = torch.stack(method.losses)  # (iterations, B)
    assert (losses[-10:].mean(0) < 0.5 * losses[0]).all()
    for b in range(losses.shape[1]):  # the 1.005 rule, replayed
        best, kept = float("inf"), None
        for i, loss in enumerate(losses[:, b].tolist()):
            if loss * 1.005 < best:
                best, kept = loss, i
        assert method.best_loss[b].item() == pytest.approx(best)
        kept_output = method.outputs[kept][b:b + 1].expand(len(batch.fname), -1, -1, -1)
        written = method.output(fit.problem, kept_output, batch.kspace * batch.mask,
                                tuple(batch.target.shape[-2:]))
        torch.testing.assert_close(written[b], fit.magnitude[b])
    assert fit.magnitude.shape == batch.target.shape


def test_the_output_writes_the_measurements_in(batch):
    """Data consistency: from an all-zero network output the result is the zero-filled RSS image
    of the measurements written in, back on the data's scale (÷ s)."""
    method = DecoderMethod("deepdecoder", iterations=5, **SMALL)
    fit = method.fit(batch)
    written = batch.kspace * batch.mask
    crop = tuple(batch.target.shape[-2:])
    zeros = torch.zeros_like(fit.problem.estimate())
    expected = center_crop(rss(ifft2c(written)), crop)
    torch.testing.assert_close(method.output(fit.problem, zeros, written, crop), expected,
                               atol=1e-7, rtol=1e-4)
    again = DecoderMethod("deepdecoder", iterations=5, **SMALL).fit(batch)
    torch.testing.assert_close(again.magnitude, fit.magnitude)  # seeded: the same fit


def test_the_smoother_fit_sets_adams_beta1_and_a_key_and_label_of_its_own(batch):
    """Appendix Fig. 16's smoother convergence: Adam's β1 reaches the optimiser; a config at
    the authors' 0.9 keeps the key it had before ``beta1`` existed (its field left out)."""
    from fnaf.runs import untrained_preset
    from fnaf.runs.untrained import _key

    method = Recorded("convdecoder", iterations=2, beta1=0.98, **SMALL)
    fit = method.fit(batch)
    assert fit.problem.optimizer.param_groups[0]["betas"] == (0.98, 0.999)
    adam = untrained_preset("smoke", "convdecoder")
    smooth = untrained_preset("smoke", "convdecoder", beta1=0.98)
    assert smooth.key() != adam.key() and smooth.label == "ConvDecoder (Adam β1 0.98)"
    assert adam.label == "ConvDecoder" and smooth.build().beta1 == 0.98
    settings = {name: value for name, value in vars(adam).items() if name != "beta1"}
    assert adam.key() == _key(settings)
