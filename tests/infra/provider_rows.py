"""The deployer's rows that come from the AWS provider's code: for every resource the program
creates, each call :mod:`tests.infra.provider_calls` lists for its type, on the resource AWS
authorises it against."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.infra.harness import Run
from tests.infra.provider_calls import (
    PROVIDER_CALLS,
    PUBLIC_URL,
    PUBLISHED,
    RESERVED_CONCURRENCY,
    Call,
)
from tests.infra.stack import DEPLOYER, Row

#: What the program registers that is no AWS resource (no call is made for it).
NOT_AWS = ("webhook-processor:", "pulumi:providers:")


@dataclass(frozen=True)
class Created:
    """One resource the program creates, with the ARNs its calls are authorised against."""

    typ: str
    name: str
    #: ``self``, ``role``, ``function``, ... (:mod:`tests.infra.provider_calls`) -> ARNs.
    on: dict[str, tuple[str, ...]]
    extra: tuple[Call, ...] = field(default=())
    #: ``skip_destroy``: the provider never deletes it (the edge function; docs/deploy.md says
    #: how a person does, later).
    retained: bool = False


def created(run: Run, account: str) -> tuple[Created, ...]:
    """Every AWS resource of ``run``, as the provider's calls see it."""
    names = {
        "function": {
            f.inputs["name"]: f.outputs["arn"] for f in run.of_type("aws:lambda/function:Function")
        },
        "rule": {
            r.inputs["name"]: r.outputs["arn"]
            for r in run.of_type("aws:cloudwatch/eventRule:EventRule")
        },
        "key": {f"{k.name}-id": k.outputs["arn"] for k in run.of_type("aws:kms/key:Key")},
        "topic": {},  # a subscription names its topic by ARN
    }
    ip_sets = tuple(s.outputs["arn"] for s in run.of_type("aws:wafv2/ipSet:IpSet"))
    found = []
    for resource in run.resources:
        if resource.typ.startswith(NOT_AWS):
            continue
        inputs, arn = resource.inputs, resource.outputs.get("arn", "")
        on: dict[str, tuple[str, ...]] = {"self": (arn,), "*": ("*",)}
        extra: tuple[Call, ...] = ()
        if resource.typ == "aws:cloudwatch/logGroup:LogGroup":
            on["log-stream"] = (f"{arn}:log-stream:",)
        elif resource.typ == "aws:iam/rolePolicy:RolePolicy":
            on["role"] = (f"arn:aws:iam::{account}:role/{inputs['role'].removesuffix('-id')}",)
        elif resource.typ in _OF_A_FUNCTION:
            target = inputs.get("function") or inputs["functionName"]
            on["function"] = (names["function"].get(target, target),)
            extra = PUBLIC_URL if inputs.get("authorizationType") == "NONE" else ()
        elif resource.typ in _POINTING:
            role, attribute = _POINTING[resource.typ]
            on[role] = (names[role].get(inputs[attribute], inputs[attribute]),)
        elif resource.typ == "aws:wafv2/webAcl:WebAcl":
            on["ip-sets"] = ip_sets
        elif resource.typ == "aws:lambda/function:Function":
            on["version"] = (f"{arn}:1",)
            extra = (RESERVED_CONCURRENCY if "reservedConcurrentExecutions" in inputs else ()) + (
                PUBLISHED if inputs.get("publish") else ()
            )
        retained = bool(inputs.get("skipDestroy"))
        found.append(Created(resource.typ, resource.name, on, extra, retained))
    return tuple(found)


#: Resources of a function: their calls are authorised on the function.
_OF_A_FUNCTION = (
    "aws:lambda/permission:Permission",
    "aws:lambda/functionUrl:FunctionUrl",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
)
#: Resources whose calls are authorised on another they name: (its role, the input naming it).
_POINTING = {
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "rule"),
    "aws:kms/alias:Alias": ("key", "targetKeyId"),
    "aws:sns/topicSubscription:TopicSubscription": ("topic", "topic"),
}


def provider_rows(resources: tuple[Created, ...]) -> Iterator[Row]:
    """The deployer's row for each call of each created resource."""
    for resource in resources:
        kind = resource.typ.rsplit(":", 1)[-1]
        for call in (*PROVIDER_CALLS[resource.typ], *resource.extra):
            if resource.retained and call.phase == "delete":
                continue
            for arn in resource.on[call.on]:
                yield Row(
                    "deploy",
                    DEPLOYER,
                    call.action,
                    arn,
                    call.doc,
                    f"{call.phase}: {kind} {resource.name}",
                    dict(_context(call, resource)),
                )


def _context(call: Call, resource: Created) -> dict[str, str]:
    """The request context AWS adds: the function a mapping is for."""
    if call.action in _OF_THE_MAPPINGS_FUNCTION:
        return {"lambda:FunctionArn": resource.on.get("function", ("",))[0]}
    return {}


#: The mapping's calls Lambda authorises with ``lambda:FunctionArn`` (its function's ARN).
_OF_THE_MAPPINGS_FUNCTION = frozenset(
    {
        "lambda:CreateEventSourceMapping",
        "lambda:GetEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
    }
)
