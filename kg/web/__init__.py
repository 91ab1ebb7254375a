"""The web service, in this order: :mod:`~kg.web.sparql` (the SPARQL 1.1 protocol's checks,
results and limits), :mod:`~kg.web.query_page` (the query page), :mod:`~kg.web.app` (routes, app
and server) and :mod:`~kg.web.audit_routes` (the audit pictures and the corpus report)."""
