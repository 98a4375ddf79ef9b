"""Untrained methods — reconstruction by optimisation per slice, no training (the package's one
word for them: this folder, :mod:`fnaf.runs.untrained`, chapter ``08_untrained_and_l1``):
l1-minimisation with a sparsifying basis and un-trained decoders fitted to one slice's
measurements (Darestani et al.'s comparison methods)."""
