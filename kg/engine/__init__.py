"""The reference engine: case graph, reasoning, SHACL validation, determination, rationale."""
