"""SsmParameters: SecureStrings read decrypted, each kept for the age it was read with."""

from __future__ import annotations

import pytest
from moto import mock_aws

from webhook_processor.aws.bootstrap import functions_session
from webhook_processor.aws.secrets import ParameterError, SsmParameters


def test_a_parameter_is_read_once_per_max_age_and_again_after_it() -> None:
    now = [100.0]
    with mock_aws():
        client = functions_session().client("ssm")
        client_calls: list[str] = []
        client.meta.events.register(
            "before-parameter-build.ssm.GetParameter",
            lambda params, **_: client_calls.append(params["Name"]),
        )
        import boto3

        admin = boto3.client("ssm")
        admin.put_parameter(Name="/p/stripe", Value="whsec_1", Type="SecureString")
        parameters = SsmParameters(client, clock=lambda: now[0])
        assert parameters.get("/p/stripe", max_age=60, decrypt=True) == "whsec_1"
        admin.put_parameter(Name="/p/stripe", Value="whsec_2", Type="SecureString", Overwrite=True)
        now[0] += 59.9
        assert parameters.get("/p/stripe", max_age=60, decrypt=True) == "whsec_1"  # cached
        now[0] += 0.1
        assert parameters.get("/p/stripe", max_age=60, decrypt=True) == "whsec_2"  # read again
        assert client_calls == ["/p/stripe", "/p/stripe"]
        with pytest.raises(ParameterError, match="ParameterNotFound"):
            parameters.get("/p/missing", max_age=60, decrypt=True)
        with pytest.raises(ParameterError, match="ParameterNotFound"):
            parameters.get("/p/missing", max_age=60, decrypt=True)  # a failure is not cached
        assert client_calls[2:] == ["/p/missing", "/p/missing"]
