"""Reading inputs: case files (YAML/JSON) and determination letters (PDF/text).

In order: :mod:`kg.read.documents` (untrusted files read safely: size caps, document roots),
:mod:`kg.read.casefile` (case files into :class:`kg.model.CaseData`), :mod:`kg.read.pages`
(letter pages into one text) and :mod:`kg.read.letter` (a letter's text into its record).
"""
