"""The parts of AWS's policy evaluation that our policies use, written out so a test can run it.

Sources: "Policy evaluation logic" (IAM User Guide,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), the
condition operators page (reference_policies_elements_condition_operators.html) and "Determining
access to an AWS KMS key" (https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html):

* an explicit ``Deny`` in any applicable statement wins;
* a KMS key is usable only if its key policy allows the principal itself, or allows the account
  (``arn:aws:iam::ACCOUNT:root``: the key policy delegates to IAM) and one of the principal's IAM
  policies allows it too; a service principal must be named by the key policy;
* other resources: an identity policy, or the resource's own policy (a Lambda function's), allows.

Implemented: ``Action``/``NotAction``, ``Resource``/``NotResource`` wildcards, ``Principal``
(``AWS``, ``Service``, ``*``), and the condition operators below. Any other operator raises
:class:`UnknownOperator`, so a policy this module cannot judge fails the test instead of passing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Operators implemented, each with its ``...IfExists`` form.
OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Bool",
    "Null",
)
ANYONE = "*"


class UnknownOperator(ValueError):
    """A condition operator this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    """One call as AWS authorises it: who, what, on which resource, with which context keys."""

    principal: str  # an IAM ARN, a service principal (``logs.us-east-1.amazonaws.com``), or "*"
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)

    def value(self, key: str) -> str | None:
        lowered = key.lower()
        return next((v for k, v in self.context.items() if k.lower() == lowered), None)

    @property
    def account(self) -> str | None:
        parts = self.principal.split(":")
        return parts[4] if self.principal.startswith("arn:") and len(parts) > 4 else None


@dataclass(frozen=True)
class Policy:
    """A named policy document: an identity policy (no principals) or a resource policy."""

    name: str
    document: Mapping[str, Any]

    @property
    def statements(self) -> list[dict[str, Any]]:
        statements = self.document.get("Statement", [])
        return list(statements) if isinstance(statements, list) else [statements]


@dataclass(frozen=True)
class Verdict:
    """Whether AWS allows a request, and the statements that decide it."""

    allowed: bool
    reason: str
    #: ``(policy name, statement index)`` of every statement the decision rests on.
    used: tuple[tuple[str, int], ...] = ()


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list of them, as a list."""
    return list(value) if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _arn_like(pattern: str, value: str) -> bool:
    """ARN matching is per component: a wildcard does not cross the first five colons."""
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    return len(patterns) == len(values) == 6 and all(
        _glob(p, v) for p, v in zip(patterns, values, strict=True)
    )


def _test(operator: str, expected: str, actual: str) -> bool:
    if operator in ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals"):
        return expected == actual
    if operator in ("StringLike", "StringNotLike"):
        return _glob(expected, actual)
    if operator in ("ArnLike", "ArnNotLike"):
        return _arn_like(expected, actual)
    return str(expected).lower() == actual.lower()  # Bool


def _condition_holds(operator: str, key: str, values: Any, request: Request) -> bool:
    base = operator.removesuffix("IfExists")
    if base not in OPERATORS or ":" in operator:
        raise UnknownOperator(operator)
    actual = request.value(key)
    if base == "Null":
        return (actual is None) == (str(values).lower() == "true")
    if actual is None:
        return operator.endswith("IfExists") or "Not" in base
    matched = any(_test(base, str(expected), actual) for expected in as_list(values))
    return not matched if "Not" in base else matched


def conditions_hold(statement: Mapping[str, Any], request: Request) -> bool:
    """Every key of every operator must hold (AND); values within a key are alternatives (OR)."""
    return all(
        _condition_holds(operator, key, values, request)
        for operator, block in statement.get("Condition", {}).items()
        for key, values in block.items()
    )


def _matches(statement: Mapping[str, Any], element: str, value: str, *, case: bool) -> bool:
    if element in statement:
        return any(_glob(p, value, case=case) for p in as_list(statement[element]))
    negated = f"Not{element}"
    return negated in statement and not any(
        _glob(p, value, case=case) for p in as_list(statement[negated])
    )


def principal_match(statement: Mapping[str, Any], principal: str) -> str | None:
    """How the statement's ``Principal`` names ``principal``: "direct", "account" (the account
    root: delegation to IAM), or None."""
    named = statement.get("Principal")
    if named == ANYONE:
        return "direct"
    if not isinstance(named, Mapping):
        return None
    if principal.endswith(".amazonaws.com"):
        return "direct" if principal in as_list(named.get("Service", [])) else None
    for entry in as_list(named.get("AWS", [])):
        if entry in (ANYONE, principal):
            return "direct"
        account = principal.split(":")[4] if principal.startswith("arn:") else None
        if account and entry in (account, f"arn:aws:iam::{account}:root"):
            return "account"
    return None


def applies(statement: Mapping[str, Any], request: Request) -> bool:
    """Action, resource and conditions match (the principal is judged separately)."""
    return (
        _matches(statement, "Action", request.action, case=False)
        and _matches(statement, "Resource", request.resource, case=True)
        and conditions_hold(statement, request)
    )


def _scan(
    policy: Policy, request: Request, *, principal: bool
) -> tuple[list[int], list[tuple[int, str]]]:
    """Indexes of the statements that deny, and that allow (with how the principal matched)."""
    denies, allows = [], []
    for index, statement in enumerate(policy.statements):
        how = principal_match(statement, request.principal) if principal else "identity"
        if how is None or not applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            denies.append(index)
        else:
            allows.append((index, how))
    return denies, allows


def evaluate(
    request: Request,
    identity: Sequence[Policy] = (),
    resource_policy: Policy | None = None,
    *,
    key_policy: bool = False,
) -> Verdict:
    """AWS's decision on ``request`` given the caller's identity policies and the resource's
    policy (a KMS key policy when ``key_policy``)."""
    identity_allows: list[tuple[str, int]] = []
    direct: list[tuple[str, int]] = []
    delegated: list[tuple[str, int]] = []
    for policy, is_resource in [(p, False) for p in identity] + (
        [(resource_policy, True)] if resource_policy is not None else []
    ):
        denies, allows = _scan(policy, request, principal=is_resource)
        if denies:
            return Verdict(False, f"explicit deny in {policy.name}", ((policy.name, denies[0]),))
        for index, how in allows:
            target = (
                identity_allows if how == "identity" else direct if how == "direct" else delegated
            )
            target.append((policy.name, index))
    if direct:
        return Verdict(True, _describe("allowed by", direct), tuple(direct))
    # A key policy that names the account delegates to IAM: both must allow. Elsewhere an
    # identity policy alone allows (same account).
    used = (*delegated, *identity_allows) if key_policy else (*identity_allows, *delegated)
    allowed = bool(delegated and identity_allows) if key_policy else bool(used)
    if allowed:
        prefix = "key policy delegates:" if key_policy else "allowed by"
        return Verdict(True, _describe(prefix, used), tuple(used))
    if key_policy:
        return Verdict(False, "the key policy allows neither the principal nor its account's IAM")
    return Verdict(False, "no statement allows it (implicit deny)")


def _describe(prefix: str, used: Sequence[tuple[str, int]]) -> str:
    return f"{prefix} " + ", ".join(f"{name}#{index}" for name, index in used)
