"""Bare CBV / GS1 vocabulary values spelled out, as the CBV 2.0 event hash needs them.

The JSON-LD binding writes `"bizStep": "shipping"` where the XML binding writes
`https://ref.gs1.org/cbv/BizStep-shipping`; the hash must not depend on the binding. GS1's
reference implementation expands the document with the EPCIS 2.0 JSON-LD context, collects
every expanded value under `https://ref.gs1.org/cbv` or `https://gs1.org/voc`, and then
replaces each string anywhere in the document that is the unique tail ("-tail" or "/tail")
of one of them. This module does the same without a JSON-LD processor: the context's
vocabulary-typed properties, their terms and its prefixes are written out here (a test
checks them against GS1's context files), which is all the expansion reaches for an EPCIS
document whose `@context` is the EPCIS context plus namespace prefixes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ledger_client.epcis.schema import CBV_BIZ_STEPS, CBV_DISPOSITIONS

CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"

CONTEXT_PREFIXES = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": CBV,
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": GS1_VOC,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}
"""The prefixes the EPCIS 2.0 JSON-LD context defines."""

BTT_TYPES = (
    "bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma",
    "testprd", "testres", "upevt",
)  # fmt: skip
SDT_TYPES = ("owning_party", "possessing_party", "location")
ERROR_REASONS = ("did_not_occur", "incorrect_data")
COMPONENTS = (
    "x", "y", "z", "axial_distance", "azimuth", "height", "spherical_radius", "polar_angle",
    "elevation_angle", "easting", "northing", "latitude", "longitude", "altitude",
)  # fmt: skip
MEASUREMENT_TYPES = (
    "AbsoluteHumidity", "AbsorbedDose", "AbsorbedDoseRate", "Acceleration", "Radioactivity",
    "Altitude", "AmountOfSubstance", "AmountOfSubstancePerUnitVolume", "Angle",
    "AngularAcceleration", "AngularMomentum", "AngularVelocity", "Area", "Capacitance",
    "Conductance", "Conductivity", "Count", "Density", "Dimensionless", "DoseEquivalent",
    "DoseEquivalentRate", "DynamicViscosity", "ElectricCharge", "ElectricCurrent",
    "ElectricCurrentDensity", "ElectricFieldStrength", "Energy", "Exposure", "Force",
    "Frequency", "Illuminance", "Inductance", "Irradiance", "KinematicViscosity", "Length",
    "LinearMomentum", "Luminance", "LuminousFlux", "LuminousIntensity", "MagneticFlux",
    "MagneticFluxDensity", "MagneticVectorPotential", "Mass", "MassConcentration",
    "MassFlowRate", "MassPerAreaTime", "MemoryCapacity", "MolalityOfSolute", "MolarEnergy",
    "MolarMass", "MolarVolume", "Power", "Pressure", "RadiantFlux", "RadiantIntensity",
    "RelativeHumidity", "Resistance", "Resistivity", "SolidAngle", "SpecificVolume", "Speed",
    "SurfaceDensity", "SurfaceTension", "Temperature", "Time", "Torque", "Voltage", "Volume",
    "VolumeFlowRate", "VolumeFraction", "VolumetricFlux", "Wavenumber",
)  # fmt: skip
SENSOR_ALERTS = ("ALARM_CONDITION", "ERROR_CONDITION")


def _terms(base: str, names: tuple[str, ...]) -> dict[str, str]:
    return {name: base + name for name in names}


BIZ_STEP_TERMS = _terms(CBV + "BizStep-", CBV_BIZ_STEPS)
DISPOSITION_TERMS = _terms(CBV + "Disp-", CBV_DISPOSITIONS)

VOCABULARY_TERMS: dict[tuple[str | None, str], dict[str, str]] = {
    (None, "bizStep"): BIZ_STEP_TERMS,
    (None, "disposition"): DISPOSITION_TERMS,
    ("persistentDisposition", "set"): DISPOSITION_TERMS,
    ("persistentDisposition", "unset"): DISPOSITION_TERMS,
    ("bizTransactionList", "type"): _terms(CBV + "BTT-", BTT_TYPES),
    ("sourceList", "type"): _terms(CBV + "SDT-", SDT_TYPES),
    ("destinationList", "type"): _terms(CBV + "SDT-", SDT_TYPES),
    ("sensorReport", "type"): _terms(GS1_VOC, MEASUREMENT_TYPES),
    ("sensorReport", "exception"): _terms(GS1_VOC, SENSOR_ALERTS),
    ("sensorReport", "component"): _terms(CBV + "Comp-", COMPONENTS),
    ("errorDeclaration", "reason"): _terms(CBV + "ER-", ERROR_REASONS),
}
"""(enclosing property or None for anywhere, property) -> the terms its value may be, for
each `"@type": "@vocab"` property of the EPCIS 2.0 context (its scoped contexts' terms)."""

IRI_PROPERTIES = frozenset(
    {
        "id", "eventID", "member", "certificationInfo", "bizLocation", "readPoint",
        "transformationID", "epcList", "epcClass", "parentID", "childEPCs", "inputEPCList",
        "outputEPCList", "children", "source", "destination", "bizTransaction", "deviceID",
        "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules",
        "coordinateReferenceSystem", "microorganism", "chemicalSubstance", "uriValue",
        "correctiveEventIDs", "type",
    }
)  # fmt: skip
"""Properties whose values JSON-LD expands as IRIs, so a compact IRI (`gs1:Temperature`)
becomes a full one (`"@type": "@id"`, `@id`, and `type` where it is `@type`)."""

_EXPANDED_ROOTS = ("https://ref.gs1.org/cbv", "https://gs1.org/voc")


def spell_out_vocabulary(document: Mapping[str, Any]) -> dict[str, Any]:
    """`document` with every bare vocabulary string replaced by its full URI (a new dict).

    As GS1's reference does it: the set of expanded CBV / GS1 vocabulary URIs the document
    contains is collected first, then every string value anywhere that is the tail of exactly
    one of them (after a "-" or a "/") is replaced by it, whatever property holds it.
    """
    prefixes = CONTEXT_PREFIXES | document_prefixes(document.get("@context"))
    expanded = {
        value
        for value in _expanded_values(document, None, None, prefixes)
        if value.startswith(_EXPANDED_ROOTS)
    }
    chosen: dict[str, str] = {}
    for text in set(_strings(document)):
        matches = [uri for uri in expanded if uri.endswith(("-" + text, "/" + text))]
        if len(matches) == 1:  # a tail two URIs share is ambiguous and stays as written
            chosen[text] = matches[0]
    spelled = _replace_strings(document, chosen)
    assert isinstance(spelled, dict)
    return spelled


def document_prefixes(context: Any) -> dict[str, str]:
    """The namespace prefixes a document's `@context` declares (its objects' string values)."""
    contexts = context if isinstance(context, list) else [context]
    return {
        key: value
        for entry in contexts
        if isinstance(entry, Mapping)
        for key, value in entry.items()
        if isinstance(value, str)
    }


def _expanded_values(
    value: Any, parent: str | None, key: str | None, prefixes: Mapping[str, str]
) -> Iterator[str]:
    """Each string `value` holds, as JSON-LD expansion gives it (a vocabulary term or a
    compact IRI in a property that takes one becomes its full URI)."""
    if isinstance(value, Mapping):
        for child_key, child in value.items():
            if child_key != "@context":
                yield from _expanded_values(child, key, child_key, prefixes)
    elif isinstance(value, list):
        for element in value:
            yield from _expanded_values(element, parent, key, prefixes)
    elif isinstance(value, str):
        terms = VOCABULARY_TERMS.get((parent, key or "")) or VOCABULARY_TERMS.get((None, key or ""))
        if terms is not None and value in terms:
            yield terms[value]
        elif terms is not None or key in IRI_PROPERTIES:
            yield _expand_compact_iri(value, prefixes)
        else:
            yield value


def _expand_compact_iri(value: str, prefixes: Mapping[str, str]) -> str:
    prefix, colon, suffix = value.partition(":")
    if colon and prefix in prefixes and not suffix.startswith("//"):
        return prefixes[prefix] + suffix
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for element in value:
            yield from _strings(element)
    elif isinstance(value, Mapping):
        for child in value.values():
            yield from _strings(child)


def _replace_strings(value: Any, replacement: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return replacement.get(value, value)
    if isinstance(value, list):
        return [_replace_strings(element, replacement) for element in value]
    if isinstance(value, Mapping):
        return {key: _replace_strings(child, replacement) for key, child in value.items()}
    return value
