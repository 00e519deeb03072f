"""An emulated deployment: the real Pulumi program's resources, created in a moto server.

``deploy`` runs ``infra/__main__.py`` under ``pulumi.runtime.Mocks`` whose ``new_resource``
makes each resource through the real boto3 create call against a ``ThreadedMotoServer`` on
127.0.0.1, and answers with what moto answered (ARNs, ids, URLs), so later resources are wired
to real identifiers. The functions' code is the real ``dist/lambda.zip``.

Three gaps of moto 5.2.5 are closed here, each as AWS behaves: ``CreateFunction`` drops
``DeadLetterConfig`` and ``LoggingConfig`` (they are kept and read back); IAM enforcement
matches every request against the resource ``*`` except for SQS, IAM and STS (the resources of
the calls the handlers make are named, so an ARN-scoped role policy is checked as AWS checks
it); and it asks for ``dynamodb:TransactWriteItems``, an action IAM does not have, where AWS
authorises each entry as the operation it is (a ``Put`` as ``dynamodb:PutItem``). Enforcement (``enforcing``) checks actions and resources of identity policies; key policies
and conditions are the access matrix's job (``tests/infra/test_access.py``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pulumi
from moto import settings
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.core.authorization import ActionAuthenticatorMixin
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer
from moto.sns.responses import SNSResponse
from moto.ssm.responses import SimpleSystemManagerResponse

from tests.infra.harness import ACCOUNT, REGION, RecordingMocks, Run, run_program
from tests.support.calls import TRANSACT_OPERATIONS

KEEPS = ("DeadLetterConfig", "LoggingConfig")


def _teach_moto() -> None:
    """Close the two gaps named in the module docstring (idempotent)."""
    if getattr(LambdaFunction, "_keeps_configuration", False):
        return
    create, configuration = LambdaFunction.__init__, LambdaFunction.get_configuration

    def init(
        self: LambdaFunction, account_id: str, spec: dict[str, Any], *a: Any, **k: Any
    ) -> None:
        create(self, account_id, spec, *a, **k)
        self._kept = {name: spec[name] for name in KEEPS if spec.get(name)}

    def get_configuration(self: LambdaFunction, on_create: bool = False) -> dict[str, Any]:
        return {**configuration(self, on_create), **getattr(self, "_kept", {})}

    # moto would run the function for each stream record (in Docker): the suite hands the
    # stream's records to the publisher handler itself, as the mapping would.
    LambdaBackend.send_dynamodb_items = lambda *_, **__: None  # type: ignore[method-assign]
    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
    LambdaFunction._keeps_configuration = True  # type: ignore[attr-defined]

    def arn(service: str, resource: str) -> Callable[[Any], str]:
        return lambda self: f"arn:aws:{service}:{self.region}:{self.current_account}:{resource}"

    DynamoHandler._determine_resource = lambda self: arn(  # type: ignore[attr-defined]
        "dynamodb", f"table/{self._get_param('TableName')}"
    )(self)
    SimpleSystemManagerResponse._determine_resource = lambda self: arn(  # type: ignore[attr-defined]
        "ssm", f"parameter{self._get_param('Name')}"
    )(self)
    SNSResponse._determine_resource = lambda self: self._get_param("TopicArn") or "*"  # type: ignore[attr-defined]

    authorize = DynamoHandler._authenticate_and_authorize_normal_action

    def authorize_each_entry(self: DynamoHandler, resource: str = "*") -> None:
        if self._get_action() != "TransactWriteItems":
            authorize(self, resource)
            return
        for entry in self._get_param("TransactItems"):
            [(kind, request)] = entry.items()
            self._get_action = lambda kind=kind: TRANSACT_OPERATIONS[kind]  # type: ignore[method-assign]
            try:
                authorize(self, arn("dynamodb", f"table/{request['TableName']}")(self))
            finally:
                del self._get_action

    DynamoHandler._authenticate_and_authorize_normal_action = authorize_each_entry  # type: ignore[method-assign]


class _OnServer(boto3.Session):
    """A session whose every client, however built, talks to ``endpoint``."""

    def __init__(self, endpoint: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("endpoint_url", self.endpoint)
        return super().client(*args, **kwargs)


class Moto:
    """A moto server on loopback, and sessions on it."""

    def __init__(self) -> None:
        _teach_moto()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.stop()

    def session(self, credentials: dict[str, str] | None = None) -> boto3.Session:
        """A session whose clients all go to the server: the test's own (``credentials``
        None, refused while enforcing) or an IAM identity's."""
        credentials = credentials or {"AccessKeyId": "testing", "SecretAccessKey": "testing"}
        return _OnServer(
            self.endpoint,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials.get("SessionToken"),
            region_name=REGION,
        )

    def client(self, session: boto3.Session, service: str) -> Any:
        return session.client(service)  # type: ignore[call-overload]

    @contextlib.contextmanager
    def enforcing(self) -> Iterator[None]:
        """IAM enforcement on: only credentials of IAM identities, only what their policies
        allow (actions, and resources as named above)."""
        before = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
        try:
            yield
        finally:
            settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = before


def _tags(
    tags: dict[str, str] | None, key: str = "Key", value: str = "Value"
) -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in (tags or {}).items()]


def _secret(value: Any) -> Any:
    return value["value"] if isinstance(value, dict) and "value" in value else value


class AwsMocks(RecordingMocks):
    """Pulumi mocks that create every resource in moto and answer with moto's identifiers."""

    def __init__(self, run: Run, moto: Moto, session: boto3.Session) -> None:
        super().__init__(run)
        self.moto, self.session = moto, session

    def _client(self, service: str) -> Any:
        return self.moto.client(self.session, service)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if not args.custom:
            return f"{args.name}-id", {}
        inputs = dict(args.inputs)
        create = getattr(self, "_" + args.typ.rsplit(":", 1)[-1].lower(), None)
        if create is None:
            raise NotImplementedError(f"the emulated deployment cannot create {args.typ}")
        identifier, made = create(args.name, inputs)
        outputs = {**inputs, **made}
        self.run.resources.append(_recorded(args, inputs, outputs))
        return identifier, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self._client("sts").get_caller_identity()
            return {
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
            }
        return super().call(args)

    # -- one method per resource type: the create call, and what AWS answers ------------------
    def _key(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kms = self._client("kms")
        key = kms.create_key(
            Policy=i["policy"],
            Description=i["description"],
            Tags=_tags(i["tags"], "TagKey", "TagValue"),
        )["KeyMetadata"]
        if i.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        return key["KeyId"], {"arn": key["Arn"], "keyId": key["KeyId"]}

    def _alias(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._client("kms").create_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
        return i["name"], {"arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:{i['name']}"}

    def _role(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        role = self._client("iam").create_role(
            RoleName=i["name"],
            AssumeRolePolicyDocument=i["assumeRolePolicy"],
            Tags=_tags(i["tags"]),
        )["Role"]
        return role["RoleName"], {"arn": role["Arn"], "name": role["RoleName"]}

    def _rolepolicy(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._client("iam").put_role_policy(
            RoleName=i["role"], PolicyName=name, PolicyDocument=i["policy"]
        )
        return f"{i['role']}:{name}", {}

    def _table(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        dynamodb = self._client("dynamodb")
        stream = {"StreamEnabled": bool(i.get("streamEnabled"))}
        if i.get("streamViewType"):
            stream["StreamViewType"] = i["streamViewType"]
        sse = i.get("serverSideEncryption") or {}
        table = dynamodb.create_table(
            TableName=i["name"],
            BillingMode=i["billingMode"],
            AttributeDefinitions=[
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in i["attributes"]
            ],
            KeySchema=[{"AttributeName": i["hashKey"], "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index["name"],
                    "KeySchema": [
                        {"AttributeName": k["attributeName"], "KeyType": k["keyType"]}
                        for k in index["keySchemas"]
                    ],
                    "Projection": {"ProjectionType": index["projectionType"]},
                }
                for index in i.get("globalSecondaryIndexes", [])
            ],
            StreamSpecification=stream,
            SSESpecification={
                "Enabled": bool(sse.get("enabled")),
                "SSEType": "KMS",
                "KMSMasterKeyId": sse.get("kmsKeyArn", ""),
            },
            Tags=_tags(i["tags"]),
        )["TableDescription"]
        if (i.get("pointInTimeRecovery") or {}).get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=i["name"],
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        return i["name"], {"arn": table["TableArn"], "streamArn": table.get("LatestStreamArn")}

    def _topic(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        arn = self._client("sns").create_topic(
            Name=i["name"],
            Attributes={"KmsMasterKeyId": i["kmsMasterKeyId"]},
            Tags=_tags(i["tags"]),
        )["TopicArn"]
        return arn, {"arn": arn}

    def _queue(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        sqs = self._client("sqs")
        url = sqs.create_queue(
            QueueName=i["name"],
            Attributes={
                "MessageRetentionPeriod": str(int(i["messageRetentionSeconds"])),
                "KmsMasterKeyId": i["kmsMasterKeyId"],
                "KmsDataKeyReusePeriodSeconds": str(int(i["kmsDataKeyReusePeriodSeconds"])),
            },
            tags=i["tags"],
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, {"arn": arn, "url": url}

    def _parameter(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._client("ssm").put_parameter(
            Name=i["name"],
            Value=_secret(i["value"]),
            Type=i["type"],
            KeyId=i["keyId"],
            Description=i["description"],
            Tags=_tags(i["tags"]),
        )
        return i["name"], {"arn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{i['name']}"}

    def _loggroup(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        logs = self._client("logs")
        logs.create_log_group(logGroupName=i["name"], kmsKeyId=i["kmsKeyId"], tags=i["tags"])
        logs.put_retention_policy(logGroupName=i["name"], retentionInDays=int(i["retentionInDays"]))
        return i["name"], {"arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{i['name']}"}

    def _function(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        code = i["code"]
        path = getattr(code, "path", None) or code["path"]
        spec: dict[str, Any] = {
            "FunctionName": i["name"],
            "Role": i["role"],
            "Runtime": i["runtime"],
            "Handler": i["handler"],
            "Architectures": i["architectures"],
            "MemorySize": int(i["memorySize"]),
            "Timeout": int(i["timeout"]),
            "Code": {"ZipFile": Path(path).read_bytes()},
            "TracingConfig": {"Mode": i["tracingConfig"]["mode"]},
            "KMSKeyArn": i["kmsKeyArn"],
            "Environment": {"Variables": i["environment"]["variables"]},
            "LoggingConfig": {
                "LogFormat": i["loggingConfig"]["logFormat"],
                "LogGroup": i["loggingConfig"]["logGroup"],
            },
            "Tags": i["tags"],
        }
        if i.get("deadLetterConfig"):
            spec["DeadLetterConfig"] = {"TargetArn": i["deadLetterConfig"]["targetArn"]}
        lam = self._client("lambda")
        arn = lam.create_function(**spec)["FunctionArn"]
        if i.get("reservedConcurrentExecutions") is not None:
            lam.put_function_concurrency(
                FunctionName=i["name"],
                ReservedConcurrentExecutions=int(i["reservedConcurrentExecutions"]),
            )
        return i["name"], {"arn": arn, "invokeArn": arn}

    def _functionurl(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        url = self._client("lambda").create_function_url_config(
            FunctionName=i["functionName"], AuthType=i["authorizationType"]
        )["FunctionUrl"]
        return i["functionName"], {"functionUrl": url}

    def _permission(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        extra: dict[str, Any] = {}
        if "functionUrlAuthType" in i:
            extra["FunctionUrlAuthType"] = i["functionUrlAuthType"]
        if "invokedViaFunctionUrl" in i:
            extra["InvokedViaFunctionUrl"] = i["invokedViaFunctionUrl"]
        if "sourceArn" in i:
            extra["SourceArn"] = i["sourceArn"]
        self._client("lambda").add_permission(
            FunctionName=i["function"],
            StatementId=name,
            Action=i["action"],
            Principal=i["principal"],
            **extra,
        )
        return name, {}

    def _eventrule(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        arn = self._client("events").put_rule(
            Name=i["name"],
            ScheduleExpression=i["scheduleExpression"],
            Description=i.get("description", ""),
            Tags=[{"Key": k, "Value": v} for k, v in sorted((i.get("tags") or {}).items())],
        )["RuleArn"]
        return i["name"], {"arn": arn}

    def _eventtarget(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        answer = self._client("events").put_targets(
            Rule=i["rule"], Targets=[{"Id": i["targetId"], "Arn": i["arn"]}]
        )
        assert answer["FailedEntryCount"] == 0, answer
        return f"{i['rule']}-{i['targetId']}", {}

    def _functioneventinvokeconfig(
        self, name: str, i: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        age = i.get("maximumEventAgeInSeconds")
        self._client("lambda").put_function_event_invoke_config(
            FunctionName=i["functionName"],
            MaximumRetryAttempts=int(i["maximumRetryAttempts"]),
            **({} if age is None else {"MaximumEventAgeInSeconds": int(age)}),
        )
        return i["functionName"], {}

    def _eventsourcemapping(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        mapping = self._client("lambda").create_event_source_mapping(
            EventSourceArn=i["eventSourceArn"],
            FunctionName=i["functionName"],
            StartingPosition=i["startingPosition"],
            BatchSize=int(i["batchSize"]),
            MaximumRetryAttempts=int(i["maximumRetryAttempts"]),
            MaximumRecordAgeInSeconds=int(i["maximumRecordAgeInSeconds"]),
            BisectBatchOnFunctionError=i["bisectBatchOnFunctionError"],
            FunctionResponseTypes=i["functionResponseTypes"],
            FilterCriteria={
                "Filters": [{"Pattern": f["pattern"]} for f in i["filterCriteria"]["filters"]]
            },
            DestinationConfig={
                "OnFailure": {"Destination": i["destinationConfig"]["onFailure"]["destinationArn"]}
            },
            Tags=i["tags"],
        )
        return mapping["UUID"], {
            "uuid": mapping["UUID"],
            "arn": mapping.get("EventSourceMappingArn"),
        }

    def _metricalarm(self, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        cloudwatch = self._client("cloudwatch")
        common = {
            "AlarmName": i["name"],
            "AlarmDescription": i["alarmDescription"],
            "EvaluationPeriods": int(i["evaluationPeriods"]),
            "ComparisonOperator": i["comparisonOperator"],
            "TreatMissingData": i["treatMissingData"],
            "AlarmActions": i["alarmActions"],
            "OKActions": i["okActions"],
            "Tags": _tags(i["tags"]),
        }
        if "metricQueries" in i:  # an anomaly-detection band: no threshold, queries instead
            cloudwatch.put_metric_alarm(
                **common,
                DatapointsToAlarm=int(i["datapointsToAlarm"]),
                ThresholdMetricId=i["thresholdMetricId"],
                Metrics=[_query(query) for query in i["metricQueries"]],
            )
        else:
            cloudwatch.put_metric_alarm(
                **common,
                Namespace=i["namespace"],
                MetricName=i["metricName"],
                Dimensions=[{"Name": k, "Value": v} for k, v in i["dimensions"].items()],
                Statistic=i["statistic"],
                Period=int(i["period"]),
                Threshold=i["threshold"],
            )
        arn = cloudwatch.describe_alarms(AlarmNames=[i["name"]])["MetricAlarms"][0]["AlarmArn"]
        return i["name"], {"arn": arn}


def _query(query: dict[str, Any]) -> dict[str, Any]:
    """A Pulumi ``metricQueries`` entry as CloudWatch's ``MetricDataQuery``."""
    found: dict[str, Any] = {"Id": query["id"], "ReturnData": query.get("returnData", False)}
    if "expression" in query:
        found["Expression"] = query["expression"]
        if "label" in query:
            found["Label"] = query["label"]
        return found
    metric = query["metric"]
    found["MetricStat"] = {
        "Metric": {
            "Namespace": metric["namespace"],
            "MetricName": metric["metricName"],
            "Dimensions": [{"Name": k, "Value": v} for k, v in metric["dimensions"].items()],
        },
        "Period": int(metric["period"]),
        "Stat": metric["stat"],
    }
    return found


def _recorded(
    args: pulumi.runtime.MockResourceArgs, inputs: dict[str, Any], outputs: dict[str, Any]
) -> Any:
    from tests.infra.harness import Recorded

    return Recorded(args.typ, args.name, inputs, outputs=outputs)


def deploy(moto: Moto, config: dict[str, str], secret_keys: tuple[str, ...], stack: str) -> Run:
    """``pulumi up`` of the real program, into moto. Returns the run (resources, exports)."""
    session = moto.session()
    return run_program(config, secret_keys, stack, mocks=lambda run: AwsMocks(run, moto, session))


def assume(moto: Moto, role_arn: str, name: str) -> boto3.Session:
    """A session with the credentials ``sts:AssumeRole`` of ``role_arn`` gives."""
    credentials = moto.client(moto.session(), "sts").assume_role(
        RoleArn=role_arn, RoleSessionName=name
    )
    return moto.session(credentials["Credentials"])


def policy_json(document: str) -> dict[str, Any]:
    return dict(json.loads(document))
