"""The development-set evaluation of the two adapters (docs/evaluation.md): case files with
their predicates and answer facts (:mod:`.expectations`), and the runs and reports
(:mod:`.evaluate`). Replays use the answer checks at run time."""
