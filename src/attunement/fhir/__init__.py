"""FHIR exchange: questionnaire answers in and out as FHIR R4 JSON, read and checked with the
``fhir.resources`` R4B (4.3.0) models, which R4 clients read as R4.

Pure functions over instrument definitions and plain values: no HTTP, no database. The store
(:mod:`attunement.store.fhir_import`, :mod:`attunement.store.fhir_restore`,
:mod:`attunement.store.fhir_export`) does the rest.
"""
