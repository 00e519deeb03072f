"""The access matrix's rows for the receiver's URL: public by default, or behind the optional
edge (CloudFront, AWS WAF, origin access control, the body-hashing Lambda@Edge function)."""

from __future__ import annotations

from collections.abc import Iterator

from tests.infra.stack import (
    ANYONE,
    CF_LAMBDA_ORIGIN,
    CF_WAF,
    CLOUDFRONT,
    DEPLOYER,
    DOCS_EDGE_TEARDOWN,
    EDGE,
    EDGE_PERMISSIONS,
    LAMBDA_URL,
    PASS_ROLE,
    RECEIVER,
    EdgeStack,
    Row,
    Stack,
)


def public_url_rows(stack: Stack) -> Iterator[Row]:
    receiver = stack.functions[RECEIVER]
    yield Row(
        "run",
        ANYONE,
        "lambda:InvokeFunctionUrl",
        receiver,
        LAMBDA_URL,
        "a provider POSTs to the public URL",
        {"lambda:FunctionUrlAuthType": "NONE"},
    )
    yield Row(
        "run",
        ANYONE,
        "lambda:InvokeFunction",
        receiver,
        LAMBDA_URL,
        "the URL invokes the function",
        {"lambda:InvokedViaFunctionUrl": "true"},
    )


def edge_deploy_rows(stack: Stack, edge: EdgeStack) -> Iterator[Row]:
    """What the deployer does for the edge: the web ACL and the function in us-east-1, the
    origin access control, the distribution that ties them to the receiver's URL."""

    def deploys(action: str, resource: str, doc: str, why: str, **context: str) -> Row:
        return Row("deploy", DEPLOYER, action, resource, doc, why, dict(context))

    yield deploys(
        "iam:PassRole",
        edge.role,
        PASS_ROLE,
        "hand the role to Lambda",
        **{"iam:PassedToService": "lambda.amazonaws.com"},
    )
    version = f"{edge.function}:1"
    for action in ("lambda:GetFunction", "lambda:EnableReplication"):
        yield deploys(action, version, EDGE_PERMISSIONS, "associate the version with CloudFront")
    yield deploys("lambda:DisableReplication", version, EDGE_PERMISSIONS, "the association removed")
    yield deploys(
        "iam:CreateServiceLinkedRole",
        f"arn:aws:iam::{stack.account}:role/aws-service-role/replicator.lambda.amazonaws.com/"
        "AWSServiceRoleForLambdaReplicator",
        EDGE_PERMISSIONS,
        "Lambda@Edge replicates the function (made once per account)",
        **{"iam:AWSServiceName": "replicator.lambda.amazonaws.com"},
    )
    yield deploys("wafv2:GetWebACL", edge.web_acl, CF_WAF, "the distribution names the web ACL")
    yield deploys(
        "lambda:DeleteFunction",
        edge.function,
        DOCS_EDGE_TEARDOWN,
        "the retained edge function, deleted by hand once CloudFront let its replicas go",
    )


def edge_run_rows(stack: Stack, edge: EdgeStack) -> Iterator[Row]:
    """CloudFront invokes the URL (origin access control), and the edge function logs."""
    receiver = stack.functions[RECEIVER]
    source = {"aws:SourceArn": edge.distribution}
    yield Row(
        "run",
        CLOUDFRONT,
        "lambda:InvokeFunctionUrl",
        receiver,
        CF_LAMBDA_ORIGIN,
        "the distribution forwards a delivery, signed",
        {"lambda:FunctionUrlAuthType": "AWS_IAM", **source},
    )
    yield Row(
        "run",
        CLOUDFRONT,
        "lambda:InvokeFunction",
        receiver,
        CF_LAMBDA_ORIGIN,
        "the URL invokes the function",
        {"lambda:InvokedViaFunctionUrl": "true", **source},
    )
    name = edge.function.rsplit(":", 1)[-1]
    group = f"arn:aws:logs:eu-west-3:{stack.account}:log-group:/aws/lambda/us-east-1.{name}"
    yield Row("run", EDGE, "logs:CreateLogGroup", group, EDGE_PERMISSIONS, "a replica's logs")
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        stream = f"{group}:log-stream:2026/11/28/[1]0123456789abcdef"
        yield Row("run", EDGE, action, stream, EDGE_PERMISSIONS, "a replica's log lines")
