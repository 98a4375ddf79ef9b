"""fnaf: adversarial robustness of deep-learning MRI reconstruction (FNAF, Calivá et al.;
Darestani et al.) as a thin library behind a Jupyter Book."""

import os
from importlib.metadata import PackageNotFoundError, version

from fnaf.mri import MRIOperator, center_crop, fft2c, ifft2c, rss, undersample

try:
    __version__ = version("fnaf")  # the one version source: pyproject.toml, via the install
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"
if os.environ.get("FNAF_CHECK_FIGURES") == "1":  # the book's figure check (fnaf.figure_labels)
    from fnaf.figure_labels import install

    install()
__all__ = [
           "__version__",
           "MRIOperator",
           "center_crop",
           "fft2c",
           "ifft2c",
           "rss",
           "undersample",
]
