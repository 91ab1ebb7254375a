"""imr-kg: medical-necessity review as a knowledge graph.

Pipeline, one module a stage: :mod:`kg.read.casefile` (read a case) ->
:mod:`kg.engine.graph` (RDF) -> :mod:`kg.engine.reason` (inferred graph) ->
:mod:`kg.engine.validate` (SHACL) -> :mod:`kg.engine.determine` (criterion statuses and
conclusion) -> :mod:`kg.engine.rationale` (text, Markdown, JSON, Turtle).
Importing ``kg`` does no work: no JVM, no store, no network.
"""

__all__: list[str] = []
