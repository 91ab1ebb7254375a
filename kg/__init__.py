"""imr-kg: medical-necessity review as a knowledge graph.

The package is a pipeline, one folder a stage; a module imports only earlier stages, or earlier
modules of its own stage (``tests/system/test_layout.py`` holds the order and enforces it):

- base: :mod:`kg.errors` (one root error, a subclass per stage), :mod:`kg.resources` (the
  packaged ontology, shapes and queries), :mod:`kg.rdf` (namespaces, case IRIs, pyoxigraph to
  rdflib terms), :mod:`kg.model` (the case model: frozen dataclasses and the case-file vocabulary);
- :mod:`kg.read`: :mod:`~kg.read.documents` (files inside document roots only),
  :mod:`~kg.read.casefile` (YAML/JSON case files), :mod:`~kg.read.pages` and
  :mod:`~kg.read.letter` (IMR letters, PDF or text, into a record with offsets);
- :mod:`kg.extract`: a letter's case summary into case data, every fact with its quote
  (:mod:`~kg.extract.text` toolkit, :mod:`~kg.extract.services`, the areas, :mod:`~kg.extract.case`);
- :mod:`kg.engine`: the reference engine, :mod:`~kg.engine.graph` (RDF, four named graphs a
  case) -> :mod:`~kg.engine.reason` (inferred graph) -> :mod:`~kg.engine.validate` (pySHACL) ->
  :mod:`~kg.engine.determine` (criterion statuses, conclusion) -> :mod:`~kg.engine.rationale`
  (text, Markdown, JSON, Turtle); :mod:`~kg.engine.guidelines` (the catalogue);
- :mod:`kg.batch`: the shapes compiled to SPARQL (:mod:`~kg.batch.compile`) and run over
  thousands of cases at a time (:mod:`~kg.batch.engine`), with the reference's answers;
- :mod:`kg.store`: the embedded or remote SPARQL store and the query library;
- :mod:`kg.viz`: evidence graphs, their drawing, audit pages and the corpus report;
- :mod:`kg.jobs`: the one ingest loop, synthetic corpora, evaluation against the reviewers
  (decisions and reasons), ``imrkg run``;
- :mod:`kg.web`: the SPARQL 1.1 protocol, the query page, the app and its audit routes;
- :mod:`kg.cli`: ``imrkg``, thin over the library.

Importing ``kg`` does no work: no JVM, no store, no network.
"""

__all__: list[str] = []
