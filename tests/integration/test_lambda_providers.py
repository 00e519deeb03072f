"""Every registered provider through the Lambda receiver, answered exactly as the local server
answers the same deliveries; secret rotation and Adyen's batches on DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from starlette.testclient import TestClient

from tests.infra.matrix import RECEIVER
from tests.integration.test_lambda import Context, Deployed, url_event
from tests.support.aws import SECRETS_PATH, TABLE
from tests.support.builders import NOW
from tests.support.deliveries import (
    NEW_SECRETS,
    PROVIDERS,
    STRANGER_SECRETS,
    deliveries,
    rotating_secrets,
    signed_sample,
)
from tests.support.loopback import post
from tests.support.stores import recent_events
from webhook_processor.aws.bootstrap import AwsConfig, build_receiver
from webhook_processor.aws.handlers import receiver
from webhook_processor.local.bootstrap import LocalProcessor
from webhook_processor.local.server import create_app


@pytest.fixture
def local(memory_processor: LocalProcessor) -> Iterator[TestClient]:
    with TestClient(create_app(memory_processor, run_dispatcher=False)) as client:
        yield client


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_lambda_receiver_answers_every_provider_as_the_local_server_does(
    provider: str,
    deployed: Deployed,
    local: TestClient,
    memory_processor: LocalProcessor,
) -> None:
    on_lambda, on_local = [], []
    for delivery in deliveries(provider):
        response = deployed.receive_handler(
            url_event(provider, delivery.body, delivery.headers, encoded=True), Context()
        )
        on_lambda.append(
            (response["statusCode"], response["headers"]["content-type"], response["body"])
        )
        answer = post(local, provider, delivery.body, delivery.headers)
        on_local.append((answer.status_code, answer.headers["content-type"], answer.text))
    assert [status for status, _, _ in on_lambda][:4] == [200, 200, 401, 401]
    assert on_lambda == on_local
    [item] = deployed.items()
    [stored] = recent_events(memory_processor.store, 10)
    assert (item["provider"], item["event_id"], str(item["amount"])) == (
        stored.event.provider,
        stored.event.event_id,
        str(stored.event.amount),
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_during_a_rotation_either_active_secret_passes_and_a_third_is_401_on_lambda(
    provider: str,
    deployed: Deployed,
) -> None:
    ssm = deployed.session.client("ssm")
    for name, value in rotating_secrets().items():
        ssm.put_parameter(
            Name=f"{SECRETS_PATH}/{name}", Value=value, Type="SecureString", Overwrite=True
        )
    old = signed_sample(provider, "o1")
    new = signed_sample(provider, "n1", secret=NEW_SECRETS[provider])
    stranger = signed_sample(provider, "x1", secret=STRANGER_SECRETS[provider])
    assert deployed.receive(url_event(provider, old.body, old.headers))[0] == 200
    assert deployed.receive(url_event(provider, new.body, new.headers))[0] == 200
    status, answer = deployed.receive(url_event(provider, stranger.body, stranger.headers))
    assert (status, answer["error"]) == (401, "invalid_signature")
    assert len(deployed.items()) == 2


def test_adyen_batch_on_lambda_stores_each_item_once_and_a_tampered_batch_nothing(
    deployed: Deployed,
) -> None:
    tampered = json.loads(signed_sample("adyen", "T", items=3).body)
    tampered["notificationItems"][1]["NotificationRequestItem"]["pspReference"] = "OTHER"
    assert deployed.receive(url_event("adyen", json.dumps(tampered).encode(), {}))[0] == 401
    assert deployed.items() == []
    batch = signed_sample("adyen", "B", items=3)
    assert deployed.receive(url_event("adyen", batch.body, batch.headers)) == (200, "[accepted]")
    assert deployed.receive(url_event("adyen", batch.body, batch.headers)) == (200, "[accepted]")
    assert sorted(item["event_id"] for item in deployed.items()) == [
        f"CAPTURE:B{n}:true" for n in (1, 2, 3)
    ]


def test_an_interrupted_adyen_batch_is_completed_by_adyens_retry(deployed: Deployed) -> None:
    """Each item is its own conditional write on DynamoDB: a failure after the first item is a
    503, Adyen retries the whole batch, and the retry stores what is missing, nothing twice."""
    failing = [True]
    puts: list[str] = []

    def fail_the_second_put(params: dict[str, Any], **_: Any) -> None:
        puts.append(params["body"])
        if failing[0] and len(puts) == 2:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "TransactWriteItems",
            )

    deployed.sessions[RECEIVER].events.register(
        "before-call.dynamodb.TransactWriteItems", fail_the_second_put
    )
    batch = signed_sample("adyen", "R", items=3)
    status, _ = deployed.receive(url_event("adyen", batch.body, batch.headers))
    assert status == 503
    assert [item["event_id"] for item in deployed.items()] == ["CAPTURE:R1:true"]
    failing[0] = False
    assert deployed.receive(url_event("adyen", batch.body, batch.headers)) == (200, "[accepted]")
    assert sorted(item["event_id"] for item in deployed.items()) == [
        f"CAPTURE:R{n}:true" for n in (1, 2, 3)
    ]


def test_square_without_a_configured_url_is_503_so_square_retries(deployed: Deployed) -> None:

    config = AwsConfig(table_name=TABLE, secrets_path=SECRETS_PATH)
    handler = receiver.create_handler(
        lambda: build_receiver(config, deployed.session, clock=lambda: NOW)
    )
    delivery = signed_sample("square")
    response = handler(url_event("square", delivery.body, delivery.headers), Context())
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"] == "provider_not_configured"
    assert deployed.items() == []


def test_the_receiver_reads_the_square_notification_url_from_its_environment() -> None:
    url = "https://payments.example.com/webhooks/square"
    assert AwsConfig.from_environ({"SQUARE_NOTIFICATION_URL": url}).square_notification_url == url
    assert AwsConfig.from_environ({"SQUARE_NOTIFICATION_URL": ""}).square_notification_url is None
    assert AwsConfig.from_environ({}).square_notification_url is None
