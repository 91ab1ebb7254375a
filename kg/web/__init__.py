"""The web service: the SPARQL 1.1 protocol, the query page and the audit routes."""
