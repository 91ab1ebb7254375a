"""Pictures and pages for audits, in this order: :mod:`~kg.viz.markup` (escaping, the pages'
policy and static files), :mod:`~kg.viz.evidence` (the evidence graph), :mod:`~kg.viz.draw`
(layout, SVG, PNG, GraphML), :mod:`~kg.viz.pages` (the audit page) and :mod:`~kg.viz.report`
(the corpus report)."""
