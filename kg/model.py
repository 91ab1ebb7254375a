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
    "STUDY_KINDS", "OUTCOMES", "SUBSTANCES", "DOSAGE_FORMS", "REGIONS", "UR_DECISIONS", "IMR_DECISIONS", "Vocabulary",
    "vocabulary",
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
    "neuromuscular_stimulation": "NeuromuscularElectricalStimulation",
    "galvanic_stimulation": "GalvanicStimulation",
    "laser_therapy": "LowLevelLaserTherapy",
    "hyperstimulation_analgesia": "HyperstimulationAnalgesia",
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
#: Dosage forms a drug request may name other than the ordinary tablet or capsule (ontology/medications.ttl).
DOSAGE_FORMS: Mapping[str, str] = {
    "oral_liquid": "OralLiquidForm",
    "compounded": "CompoundedForm",
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
#: The decisions utilization review (UR) may have made on a request.
UR_DECISIONS = ("certified", "modified", "denied")
#: The decisions an independent medical review (IMR) may reach on a request.
IMR_DECISIONS = ("upheld", "overturned")


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


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The core vocabulary plus every ``kg:caseFileKey`` in the packaged ontology (read once)."""
    from kg.rdf import KG, ontology_graph

    lists: dict[str, dict[str, str]] = {
        "findings": dict(FINDING_KINDS), "diagnoses": dict(DIAGNOSIS_KINDS), "treatments": dict(TREATMENT_KINDS),
        "studies": dict(STUDY_KINDS), "outcomes": dict(OUTCOMES), "substances": dict(SUBSTANCES),
        "regions": dict(REGIONS)}
    g = ontology_graph()
    ont = str(KG)
    for term, key in g.subject_objects(KG.caseFileKey):
        target = str(g.value(term, KG.caseFileList) or "")
        if target in lists and str(term).startswith(ont):
            lists[target].setdefault(str(key), str(term)[len(ont):])
    return Vocabulary(**lists)


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
    """A document of the case (a letter, a note): its id, title, date and file name, where known.
    ``file_absent``: the case file names the document's file but it was found in no document
    root, so the quotes citing it were not checked against it."""

    id: str
    title: str | None = None
    date: _dt.date | None = None
    file_name: str | None = None
    file_absent: bool = False


@dataclass(frozen=True)
class Worker:
    """The injured worker: age and sex, where known."""

    age: int | None = None
    sex: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Injury:
    """The industrial injury: its date, how it happened and the body regions it hurt."""

    date: _dt.date | None = None
    mechanism: str | None = None
    regions: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    """A diagnosis of the treating physicians: a label as written, its kind (a key of
    :data:`DIAGNOSIS_KINDS` or the vocabulary) and the ICD-10 code where given."""

    id: str
    label: str
    kind: str
    icd10: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A clinical, imaging or electrodiagnostic finding, ``"present"`` or ``"absent"`` (a finding
    documented as absent is a fact too); ``study`` names the :class:`Study` it comes from."""

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
    """A symptom the worker reports, with its onset and since when it is documented."""

    id: str
    label: str
    region: str | None = None
    onset: _dt.date | None = None
    documented_since: _dt.date | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Treatment:
    """A treatment the worker had before the request: its kind, outcomes (keys of :data:`OUTCOMES`),
    and, where the kind has them, sessions, relief (percent and days), injections, substances,
    duration in days and spinal levels."""

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
    """A diagnostic study (MRI, CT, X-ray, EMG/NCS ...) with its region, date and result."""

    id: str
    kind: str
    region: str | None = None
    date: _dt.date | None = None
    result: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class URDecision:
    """Utilization review's decision on a request (one of :data:`UR_DECISIONS`), with its date and
    reason."""

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
    """One requested service under review: its kind (a key of :data:`TREATMENT_KINDS` or the
    vocabulary), the request text as written, the details the criteria read (region, date,
    injections, sessions, frequency, substances, count, drug, strength, amount (how much of a drug
    when there is no count), levels, days, and the
    dosage form when it is not the ordinary tablet: a ``DOSAGE_FORMS`` key), and the
    UR decision and, kept apart, the IMR decision on it."""

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
    amount: str | None = None
    levels: int | None = None
    days: int | None = None
    form: str | None = None
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
