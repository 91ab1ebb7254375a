"""kg.extract.services: service kinds, quantities and the drug lexicon."""

from __future__ import annotations

import doctest

import kg.extract.services
from kg.extract.services import classify_service, parse_quantity


def test_doctests() -> None:
    assert doctest.testmod(kg.extract.services).failed == 0


def test_service_classification_and_quantities() -> None:
    assert classify_service("Right knee arthroscopy with evaluation of ACL, medical "
                            "meniscectomy") == "arthroscopic_surgery"
    assert classify_service("Trigger points impedance imaging (TPII)") == "other_study"
    assert classify_service("Associated surgical service: Physical Therapy sessions, "
                            "12") == "postoperative_physical_therapy"
    assert classify_service("Flexeril 10mg #90") == "muscle_relaxant"
    assert classify_service("Prilosec 20mg #90") == "ppi"
    assert classify_service("EMG/NCV of the bilateral lower extremities") == "emg_ncs"
    assert classify_service("Lidocaine 5% patch #1") == "topical_analgesic"
    assert parse_quantity("Physical therapy additional 3 visits per week for 2 weeks", "physical_therapy") == (
        6, "3 visits per week for 2 weeks")
    assert parse_quantity("MRI of the lumbar spine", "mri") == (None, None)


def test_topical_nsaids_are_topicals_not_oral_nsaids() -> None:
    from kg.extract.services import classify_service

    assert classify_service("Voltaren gel 1% 100g") == "topical_analgesic"
    assert classify_service("Flector patch 1.3% #30") == "topical_analgesic"
    assert classify_service("Diclofenac sodium 1.5% 60gm") == "topical_analgesic"
    assert classify_service("Voltaren 75mg #60 with 3 refills") == "nsaid"
    assert classify_service("Naproxen 550mg #60") == "nsaid"
