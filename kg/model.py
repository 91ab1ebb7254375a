"""The case model: what the pipeline knows of one case, as frozen dataclasses, and the
vocabulary a case file uses for each kind of thing.

Every reader produces a :class:`CaseData` (:mod:`kg.read.casefile` from a YAML/JSON case file,
:mod:`kg.extract` from a letter) and every later stage reads one; nothing here reads a file
except :func:`vocabulary`, which reads the packaged ontology once.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

__all__ = [
    "Evidence", "Document", "Worker", "Injury", "Diagnosis", "Finding", "Symptom", "Treatment", "Study",
    "URDecision", "IMRDecision", "Request", "CaseData", "FINDING_KINDS", "DIAGNOSIS_KINDS", "TREATMENT_KINDS",
    "STUDY_KINDS", "OUTCOMES", "SUBSTANCES", "REGIONS", "UR_DECISIONS", "IMR_DECISIONS", "Vocabulary", "vocabulary",
]

# Vocabulary of the format: the word a case file uses -> the ontology's local name.
FINDING_KINDS: Mapping[str, str] = {
    "trigger_point": "TriggerPoint",
    "twitch_response": "TwitchResponse",
    "referred_pain": "ReferredPain",
    "tenderness": "Tenderness",
    "muscle_spasm": "MuscleSpasm",
    "limited_range_of_motion": "RangeOfMotionLimitation",
    "dermatomal_sensory_deficit": "DermatomalSensoryDeficit",
    "reflex_deficit": "ReflexDeficit",
    "motor_deficit": "MotorDeficit",
    "positive_nerve_tension_sign": "PositiveNerveTensionSign",
    "nerve_root_compromise": "NerveRootCompromise",
    "electrodiagnostic_radiculopathy": "ElectrodiagnosticRadiculopathy",
    "foraminal_stenosis": "ForaminalStenosis",
    "disc_bulge": "DiscBulge",
    "degenerative_disc_disease": "DegenerativeDiscDisease",
    "other": "OtherFinding",
    # added for letters (classes in ontology/services.ttl)
    "pain_score": "PainScore",
    "swelling": "Swelling",
    "gait_abnormality": "GaitAbnormality",
    "positive_provocative_test": "PositiveProvocativeTest",
}
DIAGNOSIS_KINDS: Mapping[str, str] = {
    "radiculopathy": "RadiculopathyDiagnosis",
    "radiculitis": "RadiculitisDiagnosis",
    "myofascial_pain": "MyofascialPainDiagnosis",
    "facet_syndrome": "FacetSyndromeDiagnosis",
    "disc_disorder": "DiscDisorderDiagnosis",
    "sprain_strain": "SprainStrainDiagnosis",
    "headache": "HeadacheDiagnosis",
    "other": "OtherDiagnosis",
}
STUDY_KINDS: Mapping[str, str] = {
    "mri": "MRI",
    "ct": "CTScan",
    "xray": "Radiograph",
    "emg_ncs": "ElectrodiagnosticStudy",
    # added for letters (classes in ontology/services.ttl)
    "bone_scan": "BoneScan",
    "evoked_potentials": "EvokedPotentialStudy",
    "eeg": "Electroencephalogram",
    "ekg": "Electrocardiogram",
    "lab_test": "LaboratoryTest",
    "urine_drug_test": "UrineDrugTest",
    "other_study": "OtherDiagnosticStudy",
}
TREATMENT_KINDS: Mapping[str, str] = {
    "physical_therapy": "PhysicalTherapy",
    "occupational_therapy": "OccupationalTherapy",
    "chiropractic": "ChiropracticCare",
    "home_exercise": "HomeExerciseProgram",
    "stretching": "StretchingExercise",
    "acupuncture": "Acupuncture",
    "activity_modification": "ActivityModification",
    "nsaid": "NSAIDTherapy",
    "muscle_relaxant": "MuscleRelaxantTherapy",
    "opioid": "OpioidTherapy",
    "other_medication": "OtherMedication",
    "trigger_point_injection": "TriggerPointInjection",
    "epidural_steroid_injection": "EpiduralSteroidInjection",
    "facet_injection": "FacetInjection",
    "surgery": "Surgery",
    "other": "OtherTreatment",
    # added for letters: the service taxonomy of ontology/services.ttl
    "postoperative_physical_therapy": "PostoperativePhysicalTherapy",
    "manual_therapy": "ManualTherapy",
    "electrical_stimulation": "ElectricalStimulation",
    "traction": "Traction",
    "heat_cold_therapy": "HeatColdTherapy",
    "therapeutic_ultrasound": "TherapeuticUltrasound",
    "infrared_therapy": "InfraredTherapy",
    "shockwave_therapy": "ShockwaveTherapy",
    "biofeedback": "Biofeedback",
    "inpatient_rehabilitation": "InpatientRehabilitation",
    "functional_restoration_program": "FunctionalRestorationProgram",
    "home_health_care": "HomeHealthCare",
    "ppi": "ProtonPumpInhibitorTherapy",
    "h2_blocker": "H2BlockerTherapy",
    "topical_analgesic": "TopicalAnalgesic",
    "compounded_topical": "CompoundedTopical",
    "anticonvulsant": "AnticonvulsantTherapy",
    "antidepressant": "AntidepressantTherapy",
    "benzodiazepine": "BenzodiazepineTherapy",
    "sleep_aid": "SedativeHypnoticTherapy",
    "butalbital_combination": "ButalbitalCombinationTherapy",
    "acetaminophen": "AcetaminophenTherapy",
    "oral_corticosteroid": "CorticosteroidTherapy",
    "dmard": "DMARDTherapy",
    "joint_injection": "JointInjection",
    "prp_injection": "PlateletRichPlasmaInjection",
    "neurolytic_procedure": "NeurolyticProcedure",
    "other_injection": "OtherInjection",
    "arthroscopic_surgery": "ArthroscopicSurgery",
    "carpal_tunnel_release": "CarpalTunnelRelease",
    "assistant_surgeon": "AssistantSurgeon",
    "preoperative_clearance": "PreoperativeClearance",
    "dme": "DurableMedicalEquipment",
    "tens": "TENSUnit",
    "orthosis": "Orthosis",
    "cold_therapy_unit": "ColdTherapyUnit",
    "mobility_aid": "MobilityAid",
    "home_medical_equipment": "HomeMedicalEquipment",
    "positioning_pillow": "PositioningPillow",
    "hearing_aid": "HearingAid",
    "office_visit": "OfficeVisit",
    "consultation": "Consultation",
    "functional_capacity_evaluation": "FunctionalCapacityEvaluation",
    "psychological_evaluation": "PsychologicalEvaluation",
    "psychological_treatment": "PsychologicalTreatment",
    "transportation": "Transportation",
    # a request may ask for a diagnostic study too
    **STUDY_KINDS,
}
OUTCOMES: Mapping[str, str] = {
    "failed": "Failed",
    "partial_relief": "PartialRelief",
    "intolerant": "Intolerant",
    "effective": "Effective",
    "functional_improvement": "FunctionalImprovement",
    "no_functional_improvement": "NoFunctionalImprovement",
    "unknown": "UnknownOutcome",
}
SUBSTANCES: Mapping[str, str] = {
    "local_anesthetic": "LocalAnesthetic",
    "corticosteroid": "Corticosteroid",
    "saline": "Saline",
    "dextrose": "Dextrose",
    "botulinum_toxin": "BotulinumToxin",
    "other": "OtherSubstance",
}
REGIONS: Mapping[str, str] = {
    "cervical": "CervicalSpine",
    "thoracic": "ThoracicSpine",
    "lumbar": "LumbarSpine",
    "shoulder": "Shoulder",
    "elbow": "Elbow",
    "wrist_hand": "ForearmWristHand",
    "hip": "Hip",
    "knee": "Knee",
    "ankle_foot": "AnkleFoot",
    "head": "Head",
}
UR_DECISIONS = ("certified", "modified", "denied")

@dataclass(frozen=True)
class Vocabulary:
    """The words a case file may use for each kind of thing, mapped to ontology class names.

    The core words are the dicts above; an ontology file can add more by giving a
    class (or individual) ``kg:caseFileKey "word"`` and ``kg:caseFileList`` one of
    ``findings``, ``diagnoses``, ``treatments``, ``studies``, ``outcomes``,
    ``substances``, ``regions`` (so a new guideline section can bring the facts
    it needs without code changes).
    """

    findings: Mapping[str, str]
    diagnoses: Mapping[str, str]
    treatments: Mapping[str, str]
    studies: Mapping[str, str]
    outcomes: Mapping[str, str]
    substances: Mapping[str, str]
    regions: Mapping[str, str]


_ONT = "https://w3id.org/imr-kg/ont#"


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The core vocabulary plus every ``kg:caseFileKey`` in the packaged ontology (read once)."""
    from rdflib import Graph, URIRef

    from kg.resources import data_files

    lists: dict[str, dict[str, str]] = {
        "findings": dict(FINDING_KINDS), "diagnoses": dict(DIAGNOSIS_KINDS), "treatments": dict(TREATMENT_KINDS),
        "studies": dict(STUDY_KINDS), "outcomes": dict(OUTCOMES), "substances": dict(SUBSTANCES),
        "regions": dict(REGIONS)}
    g = Graph()
    for path in data_files("ontology"):
        g.parse(path, format="turtle")
    for term, key in g.subject_objects(URIRef(_ONT + "caseFileKey")):
        target = str(g.value(term, URIRef(_ONT + "caseFileList")) or "")
        if target in lists and str(term).startswith(_ONT):
            lists[target].setdefault(str(key), str(term)[len(_ONT):])
    return Vocabulary(**lists)

IMR_DECISIONS = ("upheld", "overturned")


@dataclass(frozen=True)
class Evidence:
    """Where a fact comes from: a document, the quoted text and, when the
    document text was available, the character offsets of the quote in it."""

    document: str
    quote: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Document:
    id: str
    title: str | None = None
    date: _dt.date | None = None
    file_name: str | None = None


@dataclass(frozen=True)
class Worker:
    age: int | None = None
    sex: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Injury:
    date: _dt.date | None = None
    mechanism: str | None = None
    regions: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    id: str
    label: str
    kind: str
    icd10: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Finding:
    id: str
    kind: str
    status: str  # "present" or "absent"
    label: str | None = None
    site: str | None = None
    region: str | None = None
    date: _dt.date | None = None
    study: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Symptom:
    id: str
    label: str
    region: str | None = None
    onset: _dt.date | None = None
    documented_since: _dt.date | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Treatment:
    id: str
    kind: str
    label: str | None = None
    outcomes: tuple[str, ...] = ()
    sessions: int | None = None
    relief_percent: float | None = None
    relief_days: int | None = None
    date: _dt.date | None = None
    region: str | None = None
    injections: int | None = None
    substances: tuple[str, ...] = ()
    days: int | None = None
    levels: int | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Study:
    id: str
    kind: str
    region: str | None = None
    date: _dt.date | None = None
    result: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class URDecision:
    decision: str
    date: _dt.date | None = None
    reason: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class IMRDecision:
    """The reviewer's answer on one item: kept to compare against, never read by the engine."""

    decision: str
    date: _dt.date | None = None
    specialty: str | None = None
    citation: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Request:
    id: str
    service: str
    text: str
    region: str | None = None
    date: _dt.date | None = None
    injections: int | None = None
    sessions: int | None = None
    frequency: str | None = None
    substances: tuple[str, ...] = ()
    count: int | None = None
    drug: str | None = None
    strength: str | None = None
    levels: int | None = None
    days: int | None = None
    ur: URDecision | None = None
    imr: IMRDecision | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class CaseData:
    """One case as read from a case file or a letter: facts only, no inference."""

    case_id: str
    source: str
    title: str | None = None
    documents: tuple[Document, ...] = ()
    worker: Worker | None = None
    injury: Injury | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    findings: tuple[Finding, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    treatments: tuple[Treatment, ...] = ()
    studies: tuple[Study, ...] = ()
    requests: tuple[Request, ...] = field(default_factory=tuple)
