"""Storage: the embedded or remote SPARQL store and the query library."""
