# title:      Add the per-item summaries to a store written before they existed
# question:   For every stored determination and reviewer decision that lacks them, write the
#             one-hop facts the aggregate queries count by, from the facts already stored: the
#             determination summary on the request and the not-met and not-documented criteria on
#             the determination (determination graph), the reviewer's outcome and the outcome
#             paired with month, service kind and specialty on the request (reviewer graph).  The same triples imr-kg writes today (a test holds
#             an upgraded store equal to one written fresh).  Run by 'imrkg upgrade'; running it
#             twice adds nothing.
# parameters: none
PREFIX kg:  <https://w3id.org/imr-kg/ont#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>

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
}
