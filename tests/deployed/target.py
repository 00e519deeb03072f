"""The two targets of the deployed suite: one interface, an emulated stack and a real one.

The checks only read back through AWS's describe/get calls (``client``) and drive the stack
through what a provider and an operator do (``deliver``, ``invoke``); only how those reach the
functions differs. Emulated: each handler runs in-process under the credentials
``sts:AssumeRole`` of its deployed role gives, with exactly the environment read back from its
function, while moto enforces IAM; the stream's records are read from the emulated stream and
handed to the publisher, as the event source mapping would. Real: HTTPS to the function URL,
``lambda:Invoke``, and the real mapping.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import boto3
from moto.events.models import EventPattern

from tests.deployed.emulator import Moto, assume, deploy
from tests.integration.test_lambda import Context, url_event
from tests.support.aws import as_lambda_sends, read_stream
from tests.support.builders import GENERIC_SECRET, STRIPE_SECRET
from tests.support.events_api import STRIPE_KEY
from webhook_processor.aws.bootstrap import (
    AwsConfig,
    build_publisher,
    build_receiver,
    build_reconciler,
)
from webhook_processor.aws.handlers import publisher, receiver, reconciler

SECRETS = {
    "stripeSigningSecret": STRIPE_SECRET,
    "genericSigningSecret": GENERIC_SECRET,
    # The reconciler, with the key the fake Stripe events API takes.
    "apiKeys": json.dumps({"stripe": STRIPE_KEY}),
}


class Stack(Protocol):
    """A deployed stack, as the checks see it."""

    outputs: Mapping[str, str]

    def client(self, service: str) -> Any: ...
    def deliver(
        self, provider: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, Any]: ...
    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]: ...
    def publish_pending(self) -> None: ...


class EmulatedStack:
    """The real program deployed into moto."""

    def __init__(self, moto: Moto, outputs: Mapping[str, str]) -> None:
        self.moto, self.outputs = moto, outputs
        self._published: set[str] = set()
        self._handlers: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {}

    @classmethod
    def deploy(cls, artifact: Path) -> EmulatedStack:
        moto = Moto()
        config = {**SECRETS, "artifactPath": str(artifact)}
        run = deploy(moto, config, tuple(SECRETS), "emulated")
        return cls(moto, run.exports)

    def close(self) -> None:
        self.moto.stop()

    def client(self, service: str) -> Any:
        return self.moto.client(self.moto.session(), service)

    def _handler(self, function: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        """The deployed handler of ``function``, built as Lambda would build it: from the
        environment and the role read back from the function resource."""
        if function not in self._handlers:
            configuration = self.client("lambda").get_function_configuration(
                FunctionName=self.outputs[f"{function}_function_name"]
            )
            environment = dict(configuration["Environment"]["Variables"])
            session = assume(self.moto, configuration["Role"], function)
            config = AwsConfig.from_environ(environment)
            if function == "receiver":
                handler = receiver.create_handler(lambda: build_receiver(config, session))
            else:
                handler = publisher.create_handler(lambda: build_publisher(config, session))
            self._handlers[function] = handler
        return self._handlers[function]

    def reconcile(self, event: dict[str, Any], stripe_base: str) -> dict[str, Any]:
        """The deployed reconciler run in-process under its role and environment, its Stripe
        API root pointed at ``stripe_base`` (a fake on loopback)."""
        configuration = self.client("lambda").get_function_configuration(
            FunctionName=self.outputs["reconciler_function_name"]
        )
        environment = dict(configuration["Environment"]["Variables"])
        session = assume(self.moto, configuration["Role"], "reconciler")
        config = AwsConfig.from_environ({**environment, "API_BASE_STRIPE": stripe_base})
        handler = reconciler.create_handler(lambda: build_reconciler(config, session))
        name = self.outputs["reconciler_function_name"]
        with self.moto.enforcing():
            return handler(event, Context(function_name=name))

    def _run(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = self._handler(function)
        with self.moto.enforcing():
            return handler(event, Context(function_name=self.outputs[f"{function}_function_name"]))

    def deliver(self, provider: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        response = self._run("receiver", url_event(provider, body, dict(headers)))
        return response["statusCode"], json.loads(response["body"])

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._run("receiver", payload)

    def publish_pending(self) -> None:
        """What the event source mapping does: the stream's new records to the publisher."""
        table = self.client("dynamodb").describe_table(TableName=self.outputs["table_name"])
        arn = table["Table"]["LatestStreamArn"]
        records = read_stream(self.client("dynamodbstreams"), arn)
        fresh = [r for r in records if r["dynamodb"]["SequenceNumber"] not in self._published]
        self._published |= {r["dynamodb"]["SequenceNumber"] for r in fresh}
        # The records the mapping's filter criteria pass, matched as EventBridge patterns.
        mappings = self.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        [mapping] = [m for m in mappings if m["EventSourceArn"] == arn]
        patterns = [EventPattern.load(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
        passed = [
            record
            for record in fresh
            if any(pattern.matches_event(as_lambda_sends(record)) for pattern in patterns)
        ]
        if passed:
            result = self._run(
                "publisher", {"Records": [{**r, "eventSourceARN": arn} for r in passed]}
            )
            assert result == {"batchItemFailures": []}, result


class RealStack:
    """A stack ``pulumi up`` made in an AWS account."""

    def __init__(self, outputs: Mapping[str, str], session: boto3.Session) -> None:
        self.outputs, self.session = outputs, session

    @classmethod
    def from_outputs(cls, path: Path) -> RealStack:
        return cls(json.loads(path.read_text()), boto3.Session())

    def credentials_missing(self) -> bool:
        return self.session.get_credentials() is None

    def client(self, service: str) -> Any:
        return self.session.client(service)  # type: ignore[call-overload]

    def deliver(self, provider: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        url = self.outputs["webhook_url"].replace("{provider}", provider)
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.client("lambda").invoke(
            FunctionName=self.outputs["receiver_function_name"],
            Payload=json.dumps(payload).encode(),
        )
        result: dict[str, Any] = json.loads(response["Payload"].read())
        if "FunctionError" in response:
            raise RuntimeError(result)
        return result

    def publish_pending(self) -> None:
        """Nothing to do: the stream's event source mapping publishes."""
