"""One module per book chapter, named after its notebook: the chapter's computation, its reading
(intervals, tests, verdicts), its table views and its figures. A notebook imports its own study
(and the floors below: data, models, attacks, runs, the shared tables and plots); studies import
nothing from each other, so a new chapter is one notebook and one module here.

* :mod:`~fnaf.studies.classification` — ``05_classification`` (FNAF paper Tables 5-6, §4.3)
* :mod:`~fnaf.studies.correlation_analysis` — ``06_correlation_analysis`` (Appendix A, Figs. 6-9)
* :mod:`~fnaf.studies.measurement_attacks` — ``07_measurement_attacks`` and
  ``08_untrained_and_l1`` (Darestani et al.: k-space PGD and the two-step attack, read alike)
* :mod:`~fnaf.studies.distribution_shift` — ``09_distribution_shift`` (Darestani et al. §5, B)
* :mod:`~fnaf.studies.small_features` — ``10_small_features`` (Darestani et al. §6, C)
* :mod:`~fnaf.studies.released_code` — ``released_code`` (the FNAF code's departures)
* :mod:`~fnaf.studies.real_fastmri` — ``real_fastmri`` (what the paper's setting costs)
* :mod:`~fnaf.studies.summary` — ``summary`` (every claim of the FNAF paper, read)
"""
