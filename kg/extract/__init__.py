"""Extraction: the facts of a case read from a letter's text, area by area.

Modules, in the order they build on each other:

* :mod:`kg.extract.text`: the text toolkit (numbers, regions, dates, folded text, sentences,
  clauses, polarity, :class:`~kg.extract.text.SummaryReader`);
* :mod:`kg.extract.services`: service kinds, request quantities, the drug lexicon;
* :mod:`kg.extract.result`: what extraction gives, :class:`~kg.extract.result.LetterCase`;
* :mod:`kg.extract.dispute`: the requests under review, the UR decision, the reviewer's record;
* :mod:`kg.extract.treatments`: the treatments to date, with counts and outcomes;
* the area enrichers :mod:`kg.extract.imaging`, :mod:`kg.extract.therapy`,
  :mod:`kg.extract.medication`, :mod:`kg.extract.procedures`;
* :mod:`kg.extract.case`: the base extractor and the entry points
  :func:`~kg.extract.case.extract_case` and :func:`~kg.extract.case.read_case_from_letter`.
"""
