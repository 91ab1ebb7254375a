"""Pictures and pages for audits: the evidence graph, its drawing, audit pages and the corpus report."""
