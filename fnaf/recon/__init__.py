"""Reconstruction by optimisation, no training: l1-minimisation with a sparsifying basis and
un-trained decoders fitted to one slice's measurements (Darestani et al.'s comparison methods)."""
