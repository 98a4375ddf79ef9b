"""fnaf: adversarial robustness of deep-learning MRI reconstruction (FNAF, Calivá et al.;
Darestani et al.) as a thin library behind a Jupyter Book."""

from fnaf.mri import adjoint_op, center_crop, fft2c, forward_op, ifft2c, undersample

__version__ = "0.1.0"
__all__ = [
           "__version__",
           "adjoint_op",
           "center_crop",
           "fft2c",
           "forward_op",
           "ifft2c",
           "undersample",
]
