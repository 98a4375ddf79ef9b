"""l1-minimisation against SigPy's ``L1WaveletRecon`` on the same data: solve time, agreement and
objective.

One demo-phantom slice (4 coils, 4x mask, its true birdcage maps), the same absolute λ and wavelet
(``db3`` at SigPy's default level) solved by FISTA (``fnaf.untrained.l1.L1Solver``, batched
torch) and by SigPy (proximal gradient with acceleration, NumPy), the same iterations each.
Prints, as ``name: value`` lines:

* ``fnaf_s``, ``sigpy_s`` and ``sigpy_vs_fnaf_time`` — the solve times and their ratio (> 1: fnaf
  is faster);
* ``batched_slices_per_s`` — fnaf's throughput on ``--slices`` slices solved as one batch;
* ``ssim_fnaf``, ``ssim_sigpy`` — each solution's SSIM to the RSS of the fully-sampled coil images;
* ``relative_difference`` — ``||x_fnaf − x_sigpy|| / ||x_sigpy||``;
* ``objective_fnaf``, ``objective_sigpy`` — eq. 1 with fnaf's orthonormal boundary wavelet;
  ``objective_sigpy_own`` — SigPy's solution under SigPy's zero-padded wavelet frame. The two
  transforms differ at the image border, so each solver wins on its own objective.

    python benchmarks/bench_l1.py [--iterations 200] [--lam 3e-4] [--slices 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pywt
import sigpy
import sigpy.mri.app
import torch
from torch.utils.data import default_collate

from fnaf.data.batches import SeededSlices
from fnaf.data.coils import birdcage_maps
from fnaf.data.transforms import select_slices
from fnaf.metrics import ssim
from fnaf.mri import MRIOperator, ifft2c, rss
from fnaf.runs import attack_transform, datasets, multicoil_preset
from fnaf.untrained.l1 import L1Solver
from fnaf.untrained.sparsity import SparsifyingTransform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--lam", type=float, default=3e-4)
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"threads: {torch.get_num_threads()}")
    config = multicoil_preset("demo", "varnet", 4, 4)
    val = datasets(config)[1].middle_slices(1)
    slices = SeededSlices(val, attack_transform(config, 4))
    batch = default_collate([slices[i] for i in range(min(args.slices, len(slices)))])
    shape = tuple(batch.kspace.shape[-2:])
    maps = torch.from_numpy(birdcage_maps(batch.kspace.shape[1], shape))
    level = pywt.dwtn_max_level(shape, "db3")
    solver = L1Solver(SparsifyingTransform("wavelet", shape, "db3", level), lam=args.lam,
                      iterations=args.iterations, tol=0)
    one = select_slices(batch, torch.tensor([0]))
    y, operator = one.kspace * one.mask, MRIOperator(one.mask, maps[None])
    start = time.perf_counter()
    ours = solver(y, operator)
    fnaf_s = time.perf_counter() - start
    lam = float(solver.thresholds(operator, y))
    start = time.perf_counter()
    app = sigpy.mri.app.L1WaveletRecon(y[0].numpy(), maps.numpy(), lam, wave_name="db3",
                                       max_iter=args.iterations, show_pbar=False)
    theirs = torch.from_numpy(np.asarray(app.run(), np.complex64))[None]
    sigpy_s = time.perf_counter() - start
    everything = MRIOperator(batch.mask, maps[None].expand(len(batch.fname), -1, -1, -1))
    start = time.perf_counter()
    solver(batch.kspace * batch.mask, everything)
    batched = len(batch.fname) / (time.perf_counter() - start)
    truth = rss(ifft2c(one.kspace)).numpy().astype(np.float64)
    scores = [ssim(truth, x.abs().numpy().astype(np.float64), float(truth.max()))
              for x in (ours, theirs)]
    wavelet = sigpy.linop.Wavelet(shape, wave_name="db3")
    own = (0.5 * float((operator.A(theirs) - y).abs().square().sum())
           + lam * float(np.abs(wavelet(theirs[0].numpy())).sum()))
    print(f"fnaf_s: {fnaf_s:.3f}")
    print(f"sigpy_s: {sigpy_s:.3f}")
    print(f"sigpy_vs_fnaf_time: {sigpy_s / fnaf_s:.2f}")
    print(f"batched_slices_per_s: {batched:.3f}")
    print(f"ssim_fnaf: {scores[0]:.4f}")
    print(f"ssim_sigpy: {scores[1]:.4f}")
    print(f"relative_difference: "
          f"{((ours - theirs).abs().norm() / theirs.abs().norm()).item():.4f}")
    print(f"objective_fnaf: {solver.objective(ours, y, operator).item():.6e}")
    print(f"objective_sigpy: {solver.objective(theirs, y, operator).item():.6e}")
    print(f"objective_sigpy_own: {own:.6e}")


if __name__ == "__main__":
    main()
