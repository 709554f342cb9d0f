"""Attribution: tying conversions back to the scans and campaigns that led to them.

``models`` shares one conversion's credit among its touches (last, first, linear, time decay,
position-based), as integer parts per million that always sum to exactly one whole; ``money``
holds the exact arithmetic underneath (largest-remainder allocation, ISO 4217 minor units,
currency conversion). Both are pure: conversion intake and identity joins build on them.
"""

from scanroute.attribution.models import (
    DEFAULT_HALF_LIFE,
    PPM,
    Model,
    Touch,
    credit,
    credit_value,
)
from scanroute.attribution.money import (
    ISO_4217_MINOR_UNITS,
    ISO_4217_NO_MINOR_UNIT,
    allocate,
    convert,
    from_minor,
    minor_unit,
    to_minor,
)

__all__ = [
    "DEFAULT_HALF_LIFE",
    "ISO_4217_MINOR_UNITS",
    "ISO_4217_NO_MINOR_UNIT",
    "PPM",
    "Model",
    "Touch",
    "allocate",
    "convert",
    "credit",
    "credit_value",
    "from_minor",
    "minor_unit",
    "to_minor",
]
