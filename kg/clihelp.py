"""The help texts of the ``imrkg`` commands: each command's examples and exit codes, and the
wording of the options several commands share (kept apart so ``kg/cli.py`` stays the wiring)."""

from __future__ import annotations

__all__ = ["EPILOGS", "STORE_HELP", "SHAPES_HELP", "DOCUMENT_ROOT_HELP"]

STORE_HELP = ("the store: a folder (embedded store), 'memory', or an http(s) SPARQL 1.1 endpoint URL "
              "(default: $IMRKG_STORE or ~/.local/share/imr-kg/store)")
SHAPES_HELP = "a folder of extra shapes (your own sections)"
DOCUMENT_ROOT_HELP = ("a folder case files' documents may also be read from, looked up by their path "
                      "(repeatable; adds to $IMRKG_DOCUMENT_ROOTS)")

# the examples and exit codes under each command's --help, by command name
EPILOGS: dict[str, str] = {
    "determine": """examples:
  imrkg determine examples/seed-trigger-point-2015.yaml --format json
  imrkg determine examples/seed-trigger-point-2015.yaml --document-root ../shared/letters
  imrkg determine ../shared/letters/CM16-0213037.pdf
  imrkg determine --all --workers 2          (every case in the store; resumable)
  imrkg determine --all --engine reference   (the same, one case at a time with pySHACL)
  imrkg determine --all --cluster tcp://HOST:8786   (chunks of cases on a Dask cluster's workers)

A case file's documents are read from its folder and the --document-root folders; when they are
absent it is determined on the quotes it carries, each marked "not checked against the document",
with one warning on stderr.

exit codes: 0 every request medically necessary, 1 none (not medically necessary or not covered),
4 some are and some are not (a letter with mixed items), 2 bad input, 3 internal error""",
    "validate": """examples:
  imrkg validate examples/seed-trigger-point-2015.yaml --format turtle
  imrkg validate big.nt --shapes my-shapes/ --engine auto        (any RDF data: .ttl .nt .nq .trig .jsonld .rdf)

A case file (.yaml, .yml, .json) is validated as a case (ontology + asserted + inferred facts, packaged
shapes); other data against --shapes alone (a dataset's graphs as their union). --engine compiled gives
pySHACL's results far faster, or exits 2 naming the shape and feature it does not support.

exit codes (as pySHACL): 0 conforms, 1 does not conform, 2 error""",
    "ingest": """examples:
  imrkg ingest examples/ ../shared/letters          (into the default store)
  imrkg ingest ../shared/letters --store /data/imr --create  (into another store, made if missing)
  imrkg ingest ../shared/letters -o letters.trig    (TriG file, no store)
  imrkg ingest ../shared/letters --engine reference (pySHACL, one case at a time, for comparison)
  imrkg ingest /shared/letters --cluster tcp://HOST:8786 [--send bytes]   (on a Dask cluster; see the README)

Into a store, each case is determined and written as four named graphs
(<case>/graph/asserted, inferred, determination, reviewer), all or none: by default
chunks of letters are determined by the batch engine (the reference's answers) in one
process per core (--workers N), a chunk's cases written in one update; with --engine
reference each case in its own.  With -o, the asserted and reviewer graphs go to TriG;
ingesting into an existing file replaces the cases ingested again and keeps the others.

exit codes: 0 every file ingested, 2 a file could not be read (each named on
stderr; the other files are still ingested and written), 3 internal error""",
    "eval": """examples:
  imrkg eval ../shared/letters --labels ../shared/letters/labels.json -o report.json
  imrkg eval ../shared/letters --reasons ../shared/letters/reasons.json          (reasons, both halves)
  imrkg eval ../shared/letters --reasons ../shared/letters/reasons.json --half check

With --reasons the report measures reasons as well as decisions: on the items where engine and
reviewer agree, the share of the reviewer's reasons the engine states as deciding, by half of the
fixed split of the letters (write / check), by section and by reason category, and the deciding
criteria the engine adds.

exit codes: 0 report written, 2 bad input (folder or labels unreadable), 3 internal error""",
    "queries": """example:
  imrkg queries""",
    "query": """examples:
  imrkg query decisions-by-service-kind
  imrkg query criterion-trace --param case=https://w3id.org/imr-kg/case/seed-tpi-2015/ --format csv
  imrkg query my-question.rq --store http://localhost:8890/sparql
  imrkg query 'SELECT ?case WHERE { ?case a kg:Case }'     (an ad-hoc query: the prefixes come declared)

Tables show IRIs with the project's prefixes (kg:, mtus:, case: ...) and wrap long cells; --format csv
and json give full IRIs.  Parameters are typed by the query's header and bound by the store, never pasted into the text.

exit codes: 0 answered, 2 bad query, parameter or store, 3 internal error""",
    "compact": """examples:
  imrkg determine --all --workers 2 && imrkg compact     (after a large batch, on the default store)
  imrkg compact --store /data/imr

Takes a while on a large store (42 s at 100,000 determined cases) and needs the store to itself:
stop `imrkg serve` on it first.  A remote store or "memory" has nothing to compact.
""",
    "upgrade": """examples:
  imrkg upgrade                                 (the default store)
  imrkg upgrade --store http://localhost:8890/sparql

A library query that counts by the summaries refuses a store that lacks them and names this command.
Needs the store to itself on disk (stop `imrkg serve` first); a remote store needs update rights.
""",
    "serve": """examples:
  imrkg serve                                   (the default store on http://127.0.0.1:8000/)
  IMRKG_UPDATE_TOKEN=... imrkg serve --store /data/imr --port 8080 --cors-origin https://audit.example.org

Serves the SPARQL 1.1 protocol at /sparql (read-only unless IMRKG_UPDATE_TOKEN is set, then updates
need 'Authorization: Bearer <token>'), the query library at /queries, determinations at /cases/<id>,
and a query page at /.  SERVICE and LOAD are refused; queries stop at --query-timeout seconds.

exit codes: 0 stopped cleanly, 2 bad option or store, 3 internal error""",
    "guidelines": """examples:
  imrkg guidelines
  imrkg guidelines --format json --shapes my-sections/""",
    "checklist": """examples:
  imrkg checklist trigger_point_injection --date 2016-09-01
  imrkg checklist mri --region lumbar

The list is generated from the shapes of the section in force on that date; without --date, from
the latest encoded version of the section (the first line says which).

exit codes: 0 a section applies, 1 none applies or none was in force, 2 bad input""",
    "synth": """examples:
  imrkg synth --cases 1000 --seed 7 --determine     (load and determine 1,000 synthetic cases)
  imrkg synth --stats-from ../shared/letters -o stats.json   (recount the letters' statistics)
  imrkg synth --cases 20 --seed 7 --letters synth-letters/   (write 20 synthetic letters, no store)

Synthetic cases follow the distributions counted from the real letters (kept in the package as
letter_stats.json); their ids start with 'synthetic-' and their titles say so.  With --letters DIR
each case is written as a text letter in the 2016-2017 layout instead (DIR/<case id>.txt, marked
SYNTHETIC in its first and last lines), for `imrkg ingest` or `imrkg run` to read back.""",
    "audit": """examples:
  imrkg audit examples/seed-trigger-point-2015.yaml -o seed.html     (a case file or a letter)
  imrkg audit CM16-0248698 -o audit.svg                              (a case in the store, by id)
  imrkg audit ../shared/letters/CM16-0248698.pdf -o audit.png

The output kind follows the suffix: .html (interactive, self-contained), .svg, .png, .graphml.""",
    "report": """example:
  imrkg report -o report.html

The corpus report over the store: decisions by service kind, section and month, uphold and
overturn rates, engine-versus-reviewer agreement, the criteria most often failing, links to audits.""",
    "run": """examples:
  imrkg run                                            (the packaged examples and 20 synthetic letters)
  imrkg run examples ../shared/letters --document-root ../shared/letters -o out   (the real letters)
  imrkg run synth-letters/ --store memory -o out       (a throw-away store)

Without inputs it runs on what the package carries: the examples, and 20 synthetic letters written
into OUTDIR/synthetic-letters/ first.  Ingests every input (case files, letters, folders of them:
each case determined and stored whole), writes OUTDIR/report.html with every stored case's audit
page in OUTDIR/audits/, and prints the engine's conclusions against the reviewers' decisions, every
input that failed and why, and the command that serves the store.

exit codes: 0 every input ingested and the report written, 2 an input could not be read (each
named on stderr; the others are still ingested and reported) or bad option, 3 internal error""",
}
