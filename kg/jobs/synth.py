"""Synthetic corpora that look like the real letters, for scale tests and benchmarks.

:func:`letter_statistics` reads a folder of real letters through our own
extraction and counts what they hold: items per letter, service kinds, the
share overturned (per kind), partial authorisations, ages, sex, reviewer
specialties, decision months, days from injury to request, findings and
prior treatments with their outcomes, and requested visits.  The counts are
kept in the repository (``kg/jobs/letter_stats.json``, made by ``imrkg synth
--stats-from DIR``), so :func:`synthesize` needs no letters: it draws cases
from those distributions with a seeded random generator (the same seed gives
the same cases).  Every synthetic case says so: its id starts with
``synthetic-`` and its title with ``Synthetic case``.
"""

from __future__ import annotations

import datetime as _dt
import json
import random
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from kg.model import CaseData, Finding, IMRDecision, Injury, Request, Treatment, URDecision, Worker

if TYPE_CHECKING:
    from typing import Mapping

    from rdflib import Graph

    from kg.jobs.ingest import Progress
    from kg.store.store import Store

__all__ = ["STATS_FILE", "SYNTHETIC_MARK", "letter_statistics", "load_statistics", "synthesize", "load_synthetic",
           "letter_text", "write_letters"]

STATS_FILE = Path(__file__).with_name("letter_stats.json")


def letter_statistics(letters_dir: str | Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Count the distributions of a folder of letters (read with :mod:`kg.extract.case`)."""
    from kg.errors import InputError, LetterError
    from kg.extract.case import read_case_from_letter
    from kg.jobs.ingest import LETTER_SUFFIXES

    folder = Path(letters_dir)
    if not folder.is_dir():
        raise InputError("not a folder of letters", source=str(folder),
                         hint="give --stats-from the folder that holds the letters (.pdf, .txt)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in LETTER_SUFFIXES)
    c: dict[str, Counter] = {k: Counter() for k in (
        "items_per_letter", "service_kind", "overturned_by_kind", "age", "sex", "specialty", "decision_month",
        "injury_to_request_days", "finding", "treatment", "treatment_outcome", "sessions", "partial")}
    letters = 0
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            case = read_case_from_letter(str(path)).case
        except LetterError:
            continue
        letters += 1
        c["items_per_letter"][len(case.requests)] += 1
        if case.worker and case.worker.age:
            c["age"][case.worker.age // 5 * 5] += 1
        if case.worker and case.worker.sex:
            c["sex"][case.worker.sex] += 1
        for f in case.findings:
            c["finding"][f"{f.kind}:{f.status}"] += 1
        for t in case.treatments:
            c["treatment"][t.kind] += 1
            for o in t.outcomes:
                c["treatment_outcome"][o] += 1
        for r in case.requests:
            c["service_kind"][r.service] += 1
            if r.imr is not None:
                if r.imr.decision == "overturned":
                    c["overturned_by_kind"][r.service] += 1
                if r.imr.specialty:
                    c["specialty"][r.imr.specialty] += 1
                if r.imr.date:
                    c["decision_month"][r.imr.date.strftime("%Y-%m")] += 1
            if r.sessions:
                c["sessions"][r.sessions] += 1
            if r.ur is not None:
                c["partial"][r.ur.decision == "modified"] += 1
            if r.date and case.injury and case.injury.date:
                c["injury_to_request_days"][(r.date - case.injury.date).days // 90 * 90] += 1
    if progress:
        progress(len(files), len(files), "")
    if not letters:
        raise InputError(f"no letter could be read there ({len(files)} .pdf/.txt file(s))", source=str(folder),
                         hint="give --stats-from a folder of IMR determination letters")
    return {"source": "imr-kg letter statistics, counted by kg.jobs.synth.letter_statistics from the published letters",
            "letters": letters,
            **{k: {str(key): n for key, n in sorted(v.items(), key=lambda kv: str(kv[0]))} for k, v in c.items()}}


def load_statistics(path: str | Path | None = None) -> dict[str, Any]:
    """The statistics kept in the repository (or another file written by :func:`letter_statistics`)."""
    return json.loads(Path(path or STATS_FILE).read_text(encoding="utf-8"))


def _pick(rng: random.Random, dist: dict[str, int]) -> str:
    keys = sorted(dist)
    return rng.choices(keys, weights=[dist[k] for k in keys])[0]


def synthesize(n: int, *, seed: int = 0, stats: dict[str, Any] | None = None) -> Iterator[CaseData]:
    """``n`` synthetic cases drawn from the letter statistics; the same seed gives the same cases."""
    from kg.model import vocabulary

    stats = stats or load_statistics()
    vocab = vocabulary()
    rng = random.Random(seed)
    kinds = {k: v for k, v in stats["service_kind"].items() if k in vocab.treatments}
    findings = {k: v for k, v in stats["finding"].items() if k.split(":")[0] in vocab.findings}
    treatments = {k: v for k, v in stats["treatment"].items() if k in vocab.treatments}
    outcomes = {k: v for k, v in stats["treatment_outcome"].items() if k in vocab.outcomes}
    months = stats["decision_month"] or {"2016-12": 1}
    for i in range(n):
        month = _pick(rng, months)
        decided = _dt.date.fromisoformat(f"{month}-01") + _dt.timedelta(days=rng.randrange(28))
        ur_date = decided - _dt.timedelta(days=rng.randrange(20, 60))
        request_date = ur_date - _dt.timedelta(days=rng.randrange(3, 15))
        injury = request_date - _dt.timedelta(days=int(_pick(rng, stats["injury_to_request_days"])) + rng.randrange(90))
        age = int(_pick(rng, stats["age"])) + rng.randrange(5)
        case_findings = []
        for j in range(rng.randrange(1, 7)):
            kind, status = _pick(rng, findings).split(":")
            case_findings.append(Finding(id=f"f{j}", kind=kind, status=status, date=request_date))
        case_treatments = []
        for j in range(rng.randrange(0, 5)):
            case_treatments.append(Treatment(id=f"t{j}", kind=_pick(rng, treatments),
                                             outcomes=(_pick(rng, outcomes),),
                                             sessions=rng.choice((None, 6, 8, 12, 18, 24))))
        requests = []
        for j in range(int(_pick(rng, stats["items_per_letter"]))):
            kind = _pick(rng, kinds)
            overturn = stats["overturned_by_kind"].get(kind, 0) / max(1, stats["service_kind"][kind])
            sessions = int(_pick(rng, stats["sessions"])) if kind in ("physical_therapy", "chiropractic",
                                                                      "acupuncture") and stats["sessions"] else None
            partial = rng.random() < stats["partial"].get("True", 0) / max(1, sum(stats["partial"].values()))
            requests.append(Request(
                id=f"r{j}", service=kind, text=f"synthetic {kind.replace('_', ' ')}", date=request_date,
                sessions=sessions,
                ur=URDecision(decision="modified" if partial else "denied", date=ur_date),
                imr=IMRDecision(decision="overturned" if rng.random() < overturn else "upheld", date=decided,
                                specialty=_pick(rng, stats["specialty"]))))
        case = CaseData(case_id=f"synthetic-{seed}-{i:07d}", source="synthetic",
                        title=f"Synthetic case {i} (seed {seed}), drawn from letter statistics",
                        worker=Worker(age=min(max(age, 18), 80), sex=_pick(rng, stats["sex"])),
                        injury=Injury(date=injury), findings=tuple(case_findings),
                        treatments=tuple(case_treatments), requests=tuple(requests))
        yield replace(case)


def load_synthetic(store: Store, n: int, *, seed: int = 0, stats: dict[str, Any] | None = None, batch: int = 500,
                   progress: Progress | None = None) -> int:
    """Write ``n`` synthetic cases (asserted and reviewer graphs) to ``store`` in batches of
    ``batch`` cases, each batch one update.  Returns the number written; determine them with
    :func:`kg.jobs.ingest.determine_all`."""
    from kg.engine.graph import build_case_graph

    pending: dict[str, Mapping[str, Graph]] = {}
    written = 0
    for case in synthesize(n, seed=seed, stats=stats):
        cg = build_case_graph(case)
        pending[cg.case_id] = {"asserted": cg.asserted, "reviewer": cg.reviewer}
        if len(pending) >= batch:
            store.put_cases(pending)
            written += len(pending)
            pending = {}
            if progress:
                progress(written, n, "")
    if pending:
        store.put_cases(pending)
        written += len(pending)
    if progress:
        progress(written, n, "")
    return written


# ---------------------------------------------------------------------------
# Synthetic letters in the 2016-2017 layout
# ---------------------------------------------------------------------------
SYNTHETIC_MARK = "SYNTHETIC LETTER - generated by imr-kg, not a real determination"

# How a request of each service kind is written in a synthetic letter's item heading.  Every
# text is ours; each reads back as its kind (kg.extract.case.classify_service) and names no body
# region, as synthetic requests have none.  "{n}" is the number of visits where the case
# gives one.
SERVICE_TEXT: dict[str, str] = {
    "acupuncture": "Acupuncture{visits}",
    "anticonvulsant": "Gabapentin 300mg #90",
    "antidepressant": "Amitriptyline 25mg #30",
    "arthroscopic_surgery": "Arthroscopic surgery as an outpatient",
    "assistant_surgeon": "Associated surgical service: assistant surgeon",
    "benzodiazepine": "Diazepam 5mg #30",
    "biofeedback": "Biofeedback training",
    "bone_scan": "Bone scan of the whole body",
    "butalbital_combination": "Fioricet 50/325/40mg #30",
    "carpal_tunnel_release": "Carpal tunnel release as an outpatient",
    "chiropractic": "Chiropractic treatment{visits}",
    "cold_therapy_unit": "Cold therapy unit rental",
    "compounded_topical": "Flurbiprofen 20% cream 120 grams",
    "consultation": "Consultation with a pain specialist",
    "ct": "CT scan without contrast",
    "eeg": "EEG study",
    "ekg": "EKG",
    "electrical_stimulation": "Interferential unit for a 30 day trial",
    "emg_ncs": "EMG/NCS of both upper extremities",
    "epidural_steroid_injection": "Epidural steroid injection at one level",
    "evoked_potentials": "Somatosensory evoked potential testing",
    "facet_injection": "Medial branch block at one level",
    "functional_capacity_evaluation": "Functional capacity evaluation",
    "h2_blocker": "Ranitidine 150mg #60",
    "hearing_aid": "Hearing aid",
    "heat_cold_therapy": "Hot/cold pack",
    "home_health_care": "Home health aide four hours a day",
    "home_medical_equipment": "Shower chair",
    "hyperstimulation_analgesia": "Localized intense neurostimulation therapy",
    "infrared_therapy": "Infrared heat treatment",
    "inpatient_rehabilitation": "Inpatient rehabilitation stay",
    "manual_therapy": "Massage therapy",
    "mobility_aid": "Front wheeled walker",
    "mri": "MRI without contrast",
    "muscle_relaxant": "Cyclobenzaprine 7.5mg #60",
    "neurolytic_procedure": "Radiofrequency ablation",
    "nsaid": "Naproxen 550mg #60",
    "occupational_therapy": "Occupational therapy",
    "office_visit": "Follow-up visit with the treating physician",
    "opioid": "Hydrocodone/acetaminophen 10/325mg #60",
    "orthosis": "Custom brace",
    "other_injection": "Injection of the painful site",
    "other_study": "Impedance imaging",
    "partial_hospitalization": "Partial hospitalization program",
    "physical_therapy": "Physical therapy{visits}",
    "positioning_pillow": "Positioning pillow",
    "postoperative_physical_therapy": "Post-operative physical therapy",
    "ppi": "Omeprazole 20mg #30",
    "preoperative_clearance": "Pre-operative medical clearance",
    "prp_injection": "Platelet-rich plasma injection",
    "shockwave_therapy": "Extracorporeal shockwave therapy",
    "sleep_aid": "Zolpidem 10mg #30",
    "tens": "TENS unit for a 30 day rental",
    "therapeutic_ultrasound": "Ultrasound therapy",
    "topical_analgesic": "Lidocaine 5% patch #30",
    "traction": "Home traction unit",
    "transforaminal_epidural_steroid_injection": "Transforaminal epidural steroid injection",
    "transportation": "Transportation to medical visits",
    "trigger_point_injection": "Trigger point injection",
    "urine_drug_test": "Urine drug screen",
    "xray": "X-rays with two views",
}

# One summary sentence per finding kind and status, worded so that our extraction reads it back.
FINDING_TEXT: dict[str, str] = {
    "acute_exacerbation:present": "A flare-up of pain occurred in the month before the visit of {date}.",
    "dermatomal_sensory_deficit:absent": "On {date} sensation to light touch was intact.",
    "dermatomal_sensory_deficit:present": "On {date} sensation was decreased in a dermatomal pattern.",
    "disc_bulge:present": "An MRI on {date} showed a disc protrusion.",
    "dyspepsia:present": "Heartburn was noted on {date}.",
    "electrodiagnostic_radiculopathy:absent": "Electrodiagnostic testing on {date} was normal.",
    "facet_sign:absent": "Facet loading was negative on {date}.",
    "facet_sign:present": "Facet loading was positive on {date}.",
    "foraminal_stenosis:present": "A CT scan on {date} showed foraminal narrowing.",
    "gait_abnormality:absent": "On {date} there was no antalgic gait.",
    "gait_abnormality:present": "On {date} the worker walked with an antalgic gait.",
    "limited_range_of_motion:absent": "On {date} there was no restricted range of motion.",
    "limited_range_of_motion:present": "On {date} range of motion was limited.",
    "mechanical_symptom:absent": "On {date} the knee showed no locking.",
    "mechanical_symptom:present": "On {date} the knee was catching.",
    "median_nerve_deficit:present": "On {date} there was hypoesthesia of the thumb and index finger.",
    "meniscal_tear_imaging:present": "An MRI on {date} showed a meniscal tear.",
    "meniscal_tear_sign:present": "Apley test was positive on {date}.",
    "motor_deficit:absent": "On {date} motor strength was 5/5.",
    "motor_deficit:present": "On {date} motor strength was 4/5.",
    "muscle_spasm:absent": "On {date} there was no muscle spasm.",
    "muscle_spasm:present": "On {date} muscle spasm was present.",
    "nerve_provocation_sign:absent": "Durkan test was negative on {date}.",
    "nerve_provocation_sign:present": "Durkan test was positive on {date}.",
    "neurologic_symptom:absent": "On {date} there was no numbness.",
    "neurologic_symptom:present": "On {date} there was numbness.",
    "pain_score:present": "On {date} pain was rated 6/10.",
    "positive_nerve_tension_sign:absent": "Straight leg raise was negative on {date}.",
    "positive_nerve_tension_sign:present": "Straight leg raise was positive on {date}.",
    "positive_provocative_test:absent": "Finkelstein test was negative on {date}.",
    "positive_provocative_test:present": "Finkelstein test was positive on {date}.",
    "red_flag:absent": "On {date} there was no bowel or bladder incontinence.",
    "red_flag:present": "On {date} there was bladder incontinence.",
    "reflex_deficit:absent": "On {date} reflexes were 2+ and symmetric.",
    "reflex_deficit:present": "On {date} reflexes were diminished.",
    "shoulder_lesion_imaging:absent": "An MRI on {date} showed no rotator cuff tear.",
    "shoulder_lesion_imaging:present": "An MRI on {date} showed a rotator cuff tear.",
    "shoulder_lesion_sign:absent": "Jobe test was negative on {date}.",
    "shoulder_lesion_sign:present": "Jobe test was positive on {date}.",
    "swelling:absent": "On {date} there was no swelling.",
    "swelling:present": "On {date} there was swelling.",
    "tenderness:absent": "On {date} there was no tenderness to palpation.",
    "tenderness:present": "On {date} there was tenderness to palpation.",
    "trigger_point:present": "On {date} trigger points were palpated.",
}

# Prior treatments: what each kind is called in the sentence "Treatment to date included ...".
TREATMENT_TEXT: dict[str, str] = {
    "acetaminophen": "acetaminophen",
    "activity_modification": "activity modification",
    "acupuncture": "acupuncture{sessions}",
    "anticonvulsant": "gabapentin",
    "antidepressant": "amitriptyline",
    "benzodiazepine": "diazepam",
    "chiropractic": "chiropractic care{sessions}",
    "cold_therapy_unit": "a cold therapy unit",
    "dmard": "methotrexate",
    "epidural_steroid_injection": "an epidural steroid injection",
    "h2_blocker": "ranitidine",
    "heat_cold_therapy": "heat pads",
    "home_exercise": "a home exercise program",
    "joint_injection": "a cortisone injection",
    "mobility_aid": "a cane",
    "muscle_relaxant": "cyclobenzaprine",
    "nsaid": "naproxen",
    "occupational_therapy": "occupational therapy{sessions}",
    "opioid": "hydrocodone",
    "oral_corticosteroid": "prednisone",
    "orthosis": "a brace",
    "other_injection": "an injection",
    "other_medication": "medications",
    "physical_therapy": "physical therapy{sessions}",
    "psychological_evaluation": "a psychological evaluation",
    "psychological_treatment": "psychotherapy{sessions}",
    "shockwave_therapy": "shockwave therapy",
    "sleep_aid": "zolpidem",
    "surgery": "surgery",
    "tens": "a TENS unit",
    "topical_analgesic": "Lidoderm",
}
# Kinds whose number of sessions the letter states.
_SESSION_KINDS = frozenset({"physical_therapy", "chiropractic", "acupuncture", "occupational_therapy",
                            "psychological_treatment"})
# Kinds the letter names without an outcome (our extraction reads none for them).
_NO_OUTCOME_KINDS = frozenset({"other_medication", "psychological_evaluation"})
# Outcomes of a prior treatment as the sentence states them ("authorized_by_ur" describes the
# dispute itself, not a prior course, and is not written).
OUTCOME_TEXT: dict[str, str] = {
    "effective": "which helped",
    "failed": "without improvement",
    "partial_relief": "with partial relief",
    "functional_improvement": "with functional improvement",
    "no_functional_improvement": "with no functional improvement",
    "intolerant": "which was not tolerated",
}


def _d(day: _dt.date | None, sep: str = "/") -> str:
    return "" if day is None else f"{day.month:02d}{sep}{day.day:02d}{sep}{day.year}"


def _service_text(r: Request) -> str:
    visits = f" for {r.sessions} visits" if r.sessions else ""
    return SERVICE_TEXT.get(r.service, r.service.replace("_", " ")).format(visits=visits)


def letter_text(case: CaseData) -> str:
    """One synthetic case as the text of a final determination letter in the 2016-2017 layout.

    The letter is marked synthetic in its first and last lines and in the case summary's
    disclaimer; every sentence is our own.  Read back with
    :func:`kg.extract.case.read_case_from_letter`, it gives the case id, the header dates, each
    request's service kind, visits, UR decision (denied or modified) and IMR decision, the
    worker's age and sex, the request date, and the findings and prior treatments (kind,
    sessions, outcome) the summary states.  Pure; raises ``ValueError`` for a case without
    requests.
    """
    if not case.requests:
        raise ValueError(f"case {case.case_id} has no request to write")
    first = case.requests[0]
    decided = first.imr.date if first.imr else None
    ur_date = first.ur.date if first.ur else None
    received = ur_date + _dt.timedelta(days=7) if ur_date else None
    if received and decided and received >= decided:
        received = decided - _dt.timedelta(days=1)
    assigned = received + _dt.timedelta(days=2) if received else None
    if assigned and decided and assigned >= decided:
        assigned = received
    decisions = ["Overturned" if r.imr and r.imr.decision == "overturned" else "Upheld" for r in case.requests]
    services = [_service_text(r) for r in case.requests]
    specialty = first.imr.specialty if first.imr and first.imr.specialty else "Family Practice"
    serial = case.case_id.rsplit("-", 1)[-1]
    lines = [SYNTHETIC_MARK, "Independent Medical Review: final determination (synthetic)", "",
             f"Case Number: {case.case_id}",
             f"Claim Number: SYN-{serial}",
             f"Employee: synthetic worker {serial} (no real person)",
             f"Provider: synthetic treating physician {serial}",
             f"Date Assigned: {_d(assigned)}",
             f"Date of Injury: {_d(case.injury.date if case.injury else None)}",
             f"Decision Date: {_d(decided)}",
             f"UR Denial Date: {_d(ur_date)}",
             "Priority: Standard",
             f"Application Received: {_d(received)}", "",
             "Dispute Item(s) and decisions:"]
    lines += [f"  {i}. {s} - {d}" for i, (s, d) in enumerate(zip(services, decisions, strict=True), 1)]
    lines += ["", "HOW THE IMR FINAL DETERMINATION WAS MADE",
              "In a real review an independent physician, with no tie to the worker, the employer, the treating",
              "providers or the claims administrator, reads the whole case file and decides each disputed item",
              "under the Medical Treatment Utilization Schedule. This letter is synthetic: no one reviewed a case.",
              "",
              "Reviewer credentials (drawn at random):",
              "State(s) of Licensure: California",
              f"Certification(s)/Specialty: {specialty}", "",
              "CLINICAL CASE SUMMARY",
              "Disclaimer: written by imr-kg from facts drawn at random; it describes no real person.", ""]
    lines.append(_summary(case))
    lines += ["", "IMR ISSUES, DECISIONS AND RATIONALES",
              "Each disputed item is decided below.", ""]
    for r, service, decision in zip(case.requests, services, decisions, strict=True):
        lines.append(_wrap(f"{_item_heading(r, service)}: {decision}"))
        lines += ["", "Claims Administrator guideline: Synthetic letter; no citation is recorded.", "",
                  "MAXIMUS guideline: Synthetic letter; no citation is recorded.", ""]
        verdict = "medically necessary" if decision == "Overturned" else "not medically necessary"
        lines += [_wrap(f"Decision rationale: This synthetic item carries a decision drawn at random from the share "
                        f"of {r.service.replace('_', ' ')} requests that reviewers overturn. It is therefore "
                        f"{verdict}."), ""]
    lines.append(SYNTHETIC_MARK)
    return "\n".join(lines) + "\n"


def _item_heading(r: Request, service: str) -> str:
    if r.ur is None or r.ur.decision != "modified":
        return service
    if r.sessions:
        base = SERVICE_TEXT.get(r.service, r.service.replace("_", " "))
        original = base.format(visits=f" for {r.sessions * 2} visits")
        authorized = base.format(visits=f" for {r.sessions} visits")
    elif re.search(r"#\d+$", service):
        count = int(service.rsplit("#", 1)[1])
        original, authorized = f"{service[:service.rindex('#')]}#{count * 2}", service
    else:
        original, authorized = f"{service} (two units)", f"{service} (one unit)"
    return (f"{original} was the original request. {authorized} was authorized by the Claims Administrator. "
            f"The remaining IMR eligible portion of the original request, {service} is")


def _summary(case: CaseData) -> str:
    first = case.requests[0]
    out: list[str] = []
    w, inj = case.worker, case.injury
    who = f"{w.age}-year-old {w.sex}" if w and w.age and w.sex else "worker"
    out.append(f"The claimant is a {who} with an industrial injury on {_d(inj.date if inj else None, '-')}.")
    seen: set[str] = set()
    for f in case.findings:
        key = f"{f.kind}:{f.status}"
        if key in seen or key not in FINDING_TEXT:
            continue
        seen.add(key)
        out.append(FINDING_TEXT[key].format(date=_d(f.date or first.date, "-")))
    kinds: set[str] = set()
    for t in case.treatments:
        if t.kind in kinds or t.kind not in TREATMENT_TEXT:
            continue
        kinds.add(t.kind)
        sessions = f" ({t.sessions} sessions)" if t.sessions and t.kind in _SESSION_KINDS else ""
        outcome = "" if t.kind in _NO_OUTCOME_KINDS else next(
            (OUTCOME_TEXT[o] for o in t.outcomes if o in OUTCOME_TEXT), "")
        out.append(f"Treatment to date included {TREATMENT_TEXT[t.kind].format(sessions=sessions)}"
                   f"{' ' + outcome if outcome else ''}.")
    out.append(f"The request for authorization dated {_d(first.date, '-')} asked for the disputed items.")
    partial = any(r.ur is not None and r.ur.decision == "modified" for r in case.requests)
    ur = first.ur.date if first.ur else None
    out.append(f"On {_d(ur, '-')}, utilization review {'modified' if partial else 'non-certified'} the request.")
    return _wrap(" ".join(out))


def _wrap(paragraph: str) -> str:
    """Set a paragraph in lines of at most 100 characters, as the letters are set."""
    import textwrap

    return textwrap.fill(paragraph, 100, break_long_words=False, break_on_hyphens=False)


def write_letters(cases: Iterable[CaseData], folder: str | Path) -> list[Path]:
    """Write each case as ``<case id>.txt`` (see :func:`letter_text`) into ``folder``, created
    if missing; return the paths in order.  Existing files of the same name are replaced."""
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases:
        path = out_dir / f"{case.case_id}.txt"
        path.write_text(letter_text(case), encoding="utf-8")
        paths.append(path)
    return paths
