# title:      Add the per-item summaries to a store written before they existed
# question:   For every stored determination and reviewer decision that lacks them, write the
#             one-hop facts the aggregate queries count by, from the facts already stored: the
#             determination summary on the request and the not-met and not-documented criteria on
#             the determination (determination graph), the reviewer's outcome and the outcome
#             paired with month, service kind and specialty, the citation's basis by date and the
#             days from the UR decision on the request (reviewer graph).  The same triples imr-kg
#             writes today (a test holds an upgraded store equal to one written fresh).  Run by
#             'imrkg upgrade'; running it twice adds nothing.
# parameters: none
PREFIX kg:  <https://w3id.org/imr-kg/ont#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>

# the engine's determination: conclusion|guideline kind|section|version|evidence step
INSERT { GRAPH ?g { ?req kg:determinationSummary ?summary } }
WHERE {
  GRAPH ?g {
    ?d kg:determinationFor ?req ; kg:conclusion ?c .
    OPTIONAL { ?d kg:usedSection ?s ; kg:usedVersion ?v ; kg:guidelineKind ?k }
    OPTIONAL { ?d kg:evidenceStep ?e }
    FILTER NOT EXISTS { ?req kg:determinationSummary ?written }
  }
  BIND(CONCAT(STR(?c), "|", COALESCE(STR(?k), ""), "|", COALESCE(STR(?s), ""), "|", COALESCE(STR(?v), ""), "|",
              COALESCE(STR(?e), "")) AS ?summary)
} ;

# the criteria each determination found not met or not documented (in a sub-select: Virtuoso 7.2
# refuses a GRAPH ?g template over a WHERE of one plain GRAPH ?g pattern, error SR002)
INSERT { GRAPH ?g { ?d kg:notMetCriterion ?c } }
WHERE { SELECT ?g ?d ?c WHERE { GRAPH ?g { ?d kg:hasAssessment ?a . ?a kg:status kg:NotMet ; kg:assesses ?c } } } ;

INSERT { GRAPH ?g { ?d kg:notDocumentedCriterion ?c } }
WHERE { SELECT ?g ?d ?c WHERE { GRAPH ?g { ?d kg:hasAssessment ?a . ?a kg:status kg:NotDocumented ; kg:assesses ?c } } } ;

# the reviewer's decision: its outcome, and the outcome paired with the decision month, the
# service's kind (its one class in the case's asserted graph) and the reviewer's specialty
INSERT { GRAPH ?r { ?req kg:reviewOutcome ?o ; kg:outcomeByMonth ?month ; kg:outcomeByServiceKind ?service ;
                                          kg:outcomeBySpecialty ?specialty } }
WHERE {
  GRAPH ?r {
    ?req kg:hasIMRDecision ?imr . ?imr kg:imrOutcome ?o .
    OPTIONAL { ?imr kg:decisionDate ?date }
    OPTIONAL { ?imr kg:reviewerSpecialty ?sp FILTER(STR(?sp) != "") }
    FILTER NOT EXISTS { ?req kg:reviewOutcome ?written }
  }
  GRAPH ?a { ?req kg:requestedService ?svc . ?svc rdf:type ?kind }
  FILTER(STR(?a) = CONCAT(STRBEFORE(STR(?r), "graph/reviewer"), "graph/asserted"))
  # an unbound date or specialty leaves its literal unbound, and the template skips it
  BIND(CONCAT(STR(?o), "|", SUBSTR(STR(?date), 1, 7)) AS ?month)
  BIND(CONCAT(STR(?o), "|", STR(?kind)) AS ?service)
  BIND(CONCAT(STR(?o), "|", STR(?sp)) AS ?specialty)
} ;

# the basis of the reviewer's citation with the decision date: basis IRI|YYYY-MM-DD (the same test
# as kg.engine.graph.citation_basis)
INSERT { GRAPH ?r { ?req kg:citationBasisByDate ?basis_by_date } }
WHERE {
  GRAPH ?r {
    ?req kg:hasIMRDecision ?imr .
    OPTIONAL { ?imr kg:decisionDate ?date }
    OPTIONAL { ?imr kg:citationText ?citation }
    FILTER NOT EXISTS { ?req kg:citationBasisByDate ?written }
  }
  BIND(IF(!BOUND(?citation) || CONTAINS(LCASE(?citation), "did not cite"), kg:NoCitation,
       IF(CONTAINS(?citation, "Non-MTUS") || !CONTAINS(?citation, "MTUS"), kg:OutsideMTUSCitation, kg:MTUSCitation))
       AS ?basis)
  BIND(CONCAT(STR(?basis), "|", COALESCE(STR(?date), "")) AS ?basis_by_date)
} ;

# the days from the UR decision (in the asserted graph) to the IMR decision, both dates stated: the
# difference of their Julian day numbers (portable: no date arithmetic needed)
INSERT { GRAPH ?r { ?req kg:daysFromURToIMR ?days } }
WHERE {
  GRAPH ?r {
    ?req kg:hasIMRDecision ?imr . ?imr kg:decisionDate ?d2 .
    FILTER NOT EXISTS { ?req kg:daysFromURToIMR ?written }
  }
  GRAPH ?a { ?req kg:hasURDecision ?ur . ?ur kg:decisionDate ?d1 }
  BIND(YEAR(?d1) AS ?y1) BIND(MONTH(?d1) AS ?m1) BIND(DAY(?d1) AS ?e1)
  BIND(FLOOR((14 - ?m1) / 12) AS ?a1) BIND(?y1 + 4800 - ?a1 AS ?yy1) BIND(?m1 + 12 * ?a1 - 3 AS ?mm1)
  BIND(?e1 + FLOOR((153 * ?mm1 + 2) / 5) + 365 * ?yy1 + FLOOR(?yy1 / 4) - FLOOR(?yy1 / 100) + FLOOR(?yy1 / 400) AS ?j1)
  BIND(YEAR(?d2) AS ?y2) BIND(MONTH(?d2) AS ?m2) BIND(DAY(?d2) AS ?e2)
  BIND(FLOOR((14 - ?m2) / 12) AS ?a2) BIND(?y2 + 4800 - ?a2 AS ?yy2) BIND(?m2 + 12 * ?a2 - 3 AS ?mm2)
  BIND(?e2 + FLOOR((153 * ?mm2 + 2) / 5) + 365 * ?yy2 + FLOOR(?yy2 / 4) - FLOOR(?yy2 / 100) + FLOOR(?yy2 / 400) AS ?j2)
  BIND(xsd:integer(?j2 - ?j1) AS ?days)
}
