"""imr-kg: medical-necessity review as a knowledge graph.

Pipeline, one module a stage: :mod:`kg.casefile` (read a case) ->
:mod:`kg.graph` (RDF) -> :mod:`kg.reason` (inferred graph) ->
:mod:`kg.validate` (SHACL) -> :mod:`kg.determine` (criterion statuses and
conclusion) -> :mod:`kg.rationale` (text, Markdown, JSON, Turtle).
Importing ``kg`` does no work: no JVM, no store, no network.
"""

__all__: list[str] = []
