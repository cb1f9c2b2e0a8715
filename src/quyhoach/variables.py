"""Compatibility view of the model registry (``quyhoach.registry``)."""

from .registry import (  # noqa: F401
    BY_NAME,
    FORMS,
    INDICATORS,
    PARAMETER_BY_PATH,
    PARAMETERS,
    SECTOR_LABELS,
    SECTORS,
    VARIABLE_INDEX,
    VARIABLES,
    Parameter,
    Variable,
    indicator_speed,
    spread_limit,
)
