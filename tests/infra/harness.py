"""Run the real Pulumi program under Pulumi's own mocks (no CLI, no AWS) and record everything."""

from __future__ import annotations

import contextlib
import json
import runpy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

INFRA = Path(__file__).resolve().parents[2] / "infra"
PROJECT = "webhook-processor"
ACCOUNT = "123456789012"
REGION = "us-east-1"

#: The ARN AWS gives each kind of resource, from its name (a key's id is its name + "-id").
_ARNS = {
    "aws:dynamodb/table:Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "aws:sns/topic:Topic": "arn:aws:sns:{region}:{account}:{name}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "aws:kms/key:Key": "arn:aws:kms:{region}:{account}:key/{name}-id",
    "aws:kms/alias:Alias": "arn:aws:kms:{region}:{account}:{name}",
    "aws:lambda/function:Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws:iam/role:Role": "arn:aws:iam::{account}:role/{name}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws:ssm/parameter:Parameter": "arn:aws:ssm:{region}:{account}:parameter{name}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    "aws:cloudfront/distribution:Distribution": "arn:aws:cloudfront::{account}:distribution/E{id}",
    "aws:cloudfront/originAccessControl:OriginAccessControl": (
        "arn:aws:cloudfront::{account}:origin-access-control/{id}"
    ),
    "aws:wafv2/webAcl:WebAcl": "arn:aws:wafv2:{region}:{account}:global/webacl/{name}/{id}",
    "aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{region}:{account}:rule/{name}",
    "aws:lambda/eventSourceMapping:EventSourceMapping": (
        "arn:aws:lambda:{region}:{account}:event-source-mapping:{name}-uuid"
    ),
    "aws:wafv2/ipSet:IpSet": "arn:aws:wafv2:{region}:{account}:global/ipset/{name}/{id}",
}
#: The ID AWS gives a distribution, an origin access control or a web ACL (here: fixed).
RESOURCE_ID = "1A2B3C4D5E6F7"
STREAM_LABEL = "2026-11-28T00:00:00.000"


@dataclass
class Recorded:
    """One resource as the program asked for it: type, logical name, inputs (camelCase)."""

    typ: str
    name: str
    inputs: dict[str, Any]
    parent: str | None = None
    #: The logical names of the resources it was told to wait for (``depends_on``).
    depends_on: tuple[str, ...] = ()
    #: What the mocks answered, as AWS would: the inputs plus ``arn`` and friends.
    outputs: dict[str, Any] = field(default_factory=dict)

    def json_input(self, key: str) -> Any:
        return json.loads(self.inputs[key])


@dataclass
class Run:
    resources: list[Recorded] = field(default_factory=list)
    #: What the program passed to ``pulumi.export``, resolved: the stack's outputs.
    exports: dict[str, Any] = field(default_factory=dict)
    #: What each component passed to ``register_outputs``, resolved, by component class.
    registered_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name_part: str = "") -> Recorded:
        [found] = [r for r in self.of_type(typ) if name_part in r.name]
        return found

    def by_name(self, name: str) -> Recorded:
        [found] = [r for r in self.resources if r.name == name]
        return found


def arn_of(typ: str, name: str, region: str = REGION) -> str:
    """The ARN the mocks give a resource of ``typ`` named ``name`` in ``region``, shaped as AWS
    shapes it."""
    template = _ARNS.get(typ, "arn:aws:{service}:{region}:{account}:{name}")
    return template.format(
        service=typ.split(":")[1].split("/", maxsplit=1)[0],
        region=region,
        account=ACCOUNT,
        name=name,
        id=RESOURCE_ID,
    )


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, run: Run, region: str = REGION) -> None:
        self.run = run
        #: The stack's region (the provider's): a resource's own ``region`` input overrides it.
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        name = inputs.get("name", args.name)
        region = inputs.get("region", self.region)
        outputs = {**inputs, "arn": arn_of(args.typ, name, region), "name": name}
        if args.typ == "aws:dynamodb/table:Table":
            outputs["streamArn"] = f"{arn_of(args.typ, name, region)}/stream/{STREAM_LABEL}"
        elif args.typ == "aws:sqs/queue:Queue":
            outputs["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        elif args.typ == "aws:kms/key:Key":
            outputs["keyId"] = f"{name}-id"
        elif args.typ == "aws:lambda/functionUrl:FunctionUrl":
            outputs["functionUrl"] = "https://abc123.lambda-url.us-east-1.on.aws/"
        elif args.typ == "aws:lambda/function:Function" and inputs.get("publish"):
            outputs["qualifiedArn"] = f"{outputs['arn']}:1"
        elif args.typ == "aws:cloudfront/distribution:Distribution":
            outputs["domainName"] = "d111111abcdef8.cloudfront.net"
        if args.custom:
            existing = next(
                (r for r in self.run.resources if r.name == args.name and r.typ == args.typ), None
            )
            if existing is not None:
                existing.inputs, existing.outputs = inputs, outputs
            else:
                self.run.resources.append(Recorded(args.typ, args.name, inputs, outputs=outputs))
        identifier = RESOURCE_ID if "cloudfront" in args.typ or "wafv2" in args.typ else None
        return identifier or f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "userId": "test",
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}
        raise NotImplementedError(f"no mock for {args.token}")


@contextlib.contextmanager
def _recording_outputs(
    exported: dict[str, Any], registered: dict[str, dict[str, Any]]
) -> Iterator[None]:
    """Record every ``pulumi.export`` and ``register_outputs`` call, then pass it on to Pulumi."""
    real_export = pulumi.export
    real_register = pulumi.ComponentResource.register_outputs

    def export(name: str, value: Any) -> None:
        exported[name] = value
        real_export(name, value)

    def register_outputs(component: pulumi.ComponentResource, outputs: Any) -> None:
        registered[type(component).__name__] = dict(outputs)
        real_register(component, outputs)

    pulumi.export = export
    pulumi.ComponentResource.register_outputs = register_outputs
    try:
        yield
    finally:
        pulumi.export = real_export
        pulumi.ComponentResource.register_outputs = real_register


def run_program(
    config: dict[str, str],
    secret_keys: tuple[str, ...] = (),
    stack: str = "test",
    mocks: Callable[[Run], pulumi.runtime.Mocks] = RecordingMocks,
    *,
    preview: bool = False,
    region: str = REGION,
) -> Run:
    """Run ``infra/__main__.py`` with ``config`` (keys without the project prefix), as ``pulumi
    up`` runs it, or as ``pulumi preview`` does; ``mocks`` answers for AWS (by default:
    recording, and computing ARNs as AWS would)."""
    run = Run()
    answering = RecordingMocks(run, region) if mocks is RecordingMocks else mocks(run)
    pulumi.runtime.set_mocks(answering, project=PROJECT, stack=stack, preview=preview)
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:{key}": value for key, value in config.items()},
        [f"{PROJECT}:{key}" for key in secret_keys],
    )
    parents: dict[tuple[str, str], str | None] = {}
    waits: dict[tuple[str, str], tuple[str, ...]] = {}

    def record_parent(args: pulumi.ResourceTransformationArgs) -> None:
        parent = args.opts.parent if args.opts else None
        parents[(args.type_, args.name)] = type(parent).__name__ if parent else None
        depends_on = (args.opts.depends_on if args.opts else None) or []
        waits[(args.type_, args.name)] = tuple(
            r.pulumi_resource_name for r in depends_on if isinstance(r, pulumi.Resource)
        )

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        pulumi.runtime.register_stack_transformation(record_parent)
        exported: dict[str, Any] = {}
        registered: dict[str, dict[str, Any]] = {}
        sys.path.insert(0, str(INFRA))
        try:
            with _recording_outputs(exported, registered):
                runpy.run_path(str(INFRA / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(INFRA))
        return pulumi.Output.all(
            pulumi.Output.all(**exported).apply(run.exports.update),
            *(
                pulumi.Output.all(**outputs).apply(
                    run.registered_outputs.setdefault(name, {}).update
                )
                for name, outputs in registered.items()
            ),
        )

    program()
    for resource in run.resources:
        resource.parent = parents.get((resource.typ, resource.name))
        resource.depends_on = waits.get((resource.typ, resource.name), ())
    return run
