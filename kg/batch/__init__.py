"""The batch engine: shapes compiled to SPARQL, thousands of cases at a time, the reference's answers."""
