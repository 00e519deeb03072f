"""Judge the access matrix against the policies a run of the program generated.

Policies in play: each function role's inline policy, the key policy and the receiver's resource
policy (from the program's resources), and the deployer's and operator's IAM policies, which live
outside the stack: ``docs/policies/<name>.json`` documents them (``docs/deploy.md`` links to
them), and this module reads them from there, so the docs cannot promise what does not work.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tests.infra.harness import ACCOUNT, Run, run_program
from tests.infra.iam import Policy, Request, Verdict, evaluate
from tests.infra.matrix import (
    DEPLOYER,
    EDGE,
    FUNCTIONS,
    OPERATOR,
    RECONCILER,
    EdgeStack,
    Row,
    Stack,
    rows,
)
from tests.infra.provider_rows import created
from tests.infra.stack import ReconcilerStack

POLICIES: Final = Path(__file__).resolve().parents[2] / "docs" / "policies"
SECRETS: Final = {
    "stripeSigningSecret": "whsec_stripe_test",
    "genericSigningSecret": "whsec_Z2VuZXJpYw==",
    "apiKeys": json.dumps({"stripe": "rk_live_reconcile", "square": "EAAA_reconcile"}),
}
#: A production-like configuration: secrets set, and the deployer and operator named in the key
#: policy (so each of their statements must earn its place on its own).
PRODUCTION: Final = (
    {
        **SECRETS,
        "environmentSuffix": "prod",
        "reservedConcurrency": json.dumps({"receiver": 50, "publisher": 5}),
        "deployerPrincipalArns": json.dumps([f"arn:aws:iam::{ACCOUNT}:role/webhook-deployer"]),
        "operatorPrincipalArns": json.dumps([f"arn:aws:iam::{ACCOUNT}:role/webhook-operator"]),
        "alarmEmail": "payments-oncall@example.com",
    },
    tuple(SECRETS),
    "production",
)
#: Where the edged stack deploys: not us-east-1, so that whatever the edge puts there (its web
#: ACL, function, alarms and their topic) is told apart from the stack's own region.
EDGED_REGION: Final = "eu-west-3"
#: Production with the edge in front of the receiver.
EDGED: Final = (
    {**PRODUCTION[0], "edge": json.dumps({"enabled": True})},
    PRODUCTION[1],
    "production",
)
KEY_POLICY: Final = "key policy"
RECEIVER_POLICY: Final = "receiver resource policy"


def documented_policies(stack: Stack, directory: Path = POLICIES) -> dict[str, Policy]:
    """The IAM policies the docs document, by name, with their placeholders filled in."""
    found = {}
    for path in sorted(directory.glob("*.json")):
        text = (
            path.read_text()
            .replace("<account>", stack.account)
            .replace("<region>", stack.region)
            .replace("<suffix>", stack.suffix)
        )
        found[path.stem] = Policy(f"documented {path.stem} policy", json.loads(text))
    return found


def stack_of(run: Run) -> Stack:
    """The ARNs the mocked deployment answered, as rows name them."""

    def outputs(typ: str, name_part: str = "") -> dict[str, Any]:
        return run.one(typ, name_part).outputs

    def by_function(typ: str) -> dict[str, str]:
        return {f: outputs(typ, f"webhook-{f}-").get("arn", "") for f in FUNCTIONS}

    table = outputs("aws:dynamodb/table:Table")
    return Stack(
        account=ACCOUNT,
        region=outputs("aws:kms/key:Key")["arn"].split(":")[3],
        suffix=table["name"].removeprefix("webhook-events-"),
        key=outputs("aws:kms/key:Key")["arn"],
        table=table["arn"],
        stream=table["streamArn"],
        topic=outputs("aws:sns/topic:Topic", "-events-")["arn"],
        alarm_topic=outputs("aws:sns/topic:Topic", "webhook-alarms-")["arn"],
        dlq=outputs("aws:sqs/queue:Queue", "-dlq-")["arn"],
        publish_failures=outputs("aws:sqs/queue:Queue", "-publish-failures-")["arn"],
        functions=by_function("aws:lambda/function:Function"),
        roles={f: outputs("aws:iam/role:Role", f"webhook-{f}-")["arn"] for f in FUNCTIONS},
        log_groups=by_function("aws:cloudwatch/logGroup:LogGroup"),
        parameters=tuple(
            p.outputs["arn"]
            for p in run.of_type("aws:ssm/parameter:Parameter")
            if "/secrets/" in p.inputs["name"]
        ),
        alarms=tuple(
            a.outputs["arn"] for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        ),
        reserved_concurrency=any(
            "reservedConcurrentExecutions" in f.inputs
            for f in run.of_type("aws:lambda/function:Function")
        ),
        alarm_email=bool(run.of_type("aws:sns/topicSubscription:TopicSubscription")),
        edge=_edge_of(run),
        reconciler=_reconciler_of(run),
        created=created(run, ACCOUNT),
    )


def _reconciler_of(run: Run) -> ReconcilerStack | None:
    if not run.of_type("aws:cloudwatch/eventRule:EventRule"):
        return None
    return ReconcilerStack(
        function=run.one("aws:lambda/function:Function", "webhook-reconciler-").outputs["arn"],
        role=run.one("aws:iam/role:Role", "webhook-reconciler-").outputs["arn"],
        log_group=run.one("aws:cloudwatch/logGroup:LogGroup", "webhook-reconciler-").outputs["arn"],
        rule=run.one("aws:cloudwatch/eventRule:EventRule").outputs["arn"],
        api_keys=tuple(
            p.outputs["arn"]
            for p in run.of_type("aws:ssm/parameter:Parameter")
            if "/api-keys/" in p.inputs["name"]
        ),
    )


def _edge_of(run: Run) -> EdgeStack | None:
    if not run.of_type("aws:cloudfront/distribution:Distribution"):
        return None
    return EdgeStack(
        distribution=run.one("aws:cloudfront/distribution:Distribution").outputs["arn"],
        web_acl=run.one("aws:wafv2/webAcl:WebAcl").outputs["arn"],
        function=run.one("aws:lambda/function:Function", "webhook-edge-").outputs["arn"],
        role=run.one("aws:iam/role:Role", "webhook-edge-").outputs["arn"],
    )


def _resource_policy(run: Run, stack: Stack) -> Policy:
    """The receiver's resource policy, as Lambda renders each ``Permission``."""
    by_name = {
        f.inputs["name"]: f.outputs["arn"] for f in run.of_type("aws:lambda/function:Function")
    }
    statements = []
    for permission in run.of_type("aws:lambda/permission:Permission"):
        inputs = permission.inputs
        condition: dict[str, Any] = {}
        if "functionUrlAuthType" in inputs:
            condition["StringEquals"] = {
                "lambda:FunctionUrlAuthType": inputs["functionUrlAuthType"]
            }
        if inputs.get("invokedViaFunctionUrl"):
            condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
        if "sourceArn" in inputs:
            condition["ArnLike"] = {"AWS:SourceArn": inputs["sourceArn"]}
        principal = inputs["principal"]
        statements.append(
            {
                "Sid": permission.name,
                "Effect": "Allow",
                "Principal": "*" if principal == "*" else {"Service": principal},
                "Action": inputs["action"],
                "Resource": by_name[inputs["function"]],
                **({"Condition": condition} if condition else {}),
            }
        )
    return Policy(RECEIVER_POLICY, {"Version": "2012-10-17", "Statement": statements})


@dataclass
class Policies:
    """Every policy that decides a row: identity policies by caller, and resource policies."""

    identity: dict[str, list[Policy]]
    key: Policy
    receiver: Policy
    #: Statements removed (``(policy name, index)``), to prove each one is needed.
    without: set[tuple[str, int]] = field(default_factory=set)

    def all(self) -> Iterator[Policy]:
        for policies in self.identity.values():
            yield from policies
        yield self.key
        yield self.receiver

    def _pruned(self, policy: Policy) -> Policy:
        if not any(name == policy.name for name, _ in self.without):
            return policy
        statements = [
            s for i, s in enumerate(policy.statements) if (policy.name, i) not in self.without
        ]
        return Policy(policy.name, {**policy.document, "Statement": statements})

    def decide(self, row: Row, stack: Stack) -> Verdict:
        request = Request(stack.principal(row.caller), row.action, row.resource, row.context)
        identity = [self._pruned(p) for p in self.identity.get(row.caller, [])]
        if row.action.startswith("kms:") and ":key/" in row.resource:
            return evaluate(request, identity, self._pruned(self.key), key_policy=True)
        if row.action.startswith("lambda:Invoke"):
            return evaluate(request, identity, self._pruned(self.receiver))
        return evaluate(request, identity)


def policies_of(run: Run, stack: Stack) -> Policies:
    """The policies ``run`` generated, and the documented ones."""
    roles = {f: run.one("aws:iam/role:Role", f"webhook-{f}-") for f in FUNCTIONS}
    identity: dict[str, list[Policy]] = {}
    for function, role in roles.items():
        identity[function] = [
            Policy(f"{function} role policy", policy.json_input("policy"))
            for policy in run.of_type("aws:iam/rolePolicy:RolePolicy")
            if policy.inputs["role"] == f"{role.name}-id"
        ]
    for role in [
        r for r in run.of_type("aws:iam/role:Role") if r.name.startswith("webhook-reconciler-")
    ]:
        identity[RECONCILER] = [
            Policy("reconciler role policy", policy.json_input("policy"))
            for policy in run.of_type("aws:iam/rolePolicy:RolePolicy")
            if policy.inputs["role"] == f"{role.name}-id"
        ]
    edge = [r for r in run.of_type("aws:iam/role:Role") if r.name.startswith("webhook-edge-")]
    for role in edge:
        identity[EDGE] = [
            Policy("edge role policy", policy.json_input("policy"))
            for policy in run.of_type("aws:iam/rolePolicy:RolePolicy")
            if policy.inputs["role"] == f"{role.name}-id"
        ]
    documented = documented_policies(stack)
    identity[DEPLOYER] = [documented[DEPLOYER]]
    identity[OPERATOR] = [documented[OPERATOR]]
    key = Policy(KEY_POLICY, run.one("aws:kms/key:Key").json_input("policy"))
    return Policies(identity, key, _resource_policy(run, stack))


def judge(all_rows: Sequence[Row], policies: Policies, stack: Stack) -> list[tuple[Row, Verdict]]:
    """Each row's verdict; a row that uses a service's grant stands or falls with the row that
    created the grant."""
    verdicts = [(row, policies.decide(row, stack)) for row in all_rows]
    granted = {
        row.context.get("kms:ViaService", "").split(".")[0]: verdict
        for row, verdict in verdicts
        if row.action == "kms:CreateGrant"
    }
    judged = []
    for row, verdict in verdicts:
        decided = verdict
        if row.via_grant is not None:
            grant = granted.get("lambda")
            allowed = grant is not None and grant.allowed
            decided = Verdict(allowed, f"through the grant: {row.via_grant}")
        judged.append((row, decided))
    return judged


def evaluate_all(
    config: dict[str, str], secret_keys: tuple[str, ...], stack_name: str
) -> list[tuple[Row, bool, str]]:
    """Run the program with ``config`` and judge the whole matrix (for printing)."""
    run = run_program(config, secret_keys, stack=stack_name)
    stack = stack_of(run)
    policies = policies_of(run, stack)
    return [(row, v.allowed, v.reason) for row, v in judge(rows(stack), policies, stack)]
