"""Reading inputs: case files (YAML/JSON) and determination letters (PDF/text)."""
