"""What an AWS call may cost in time, as the docs say: pinned, so a change is a decision."""

from __future__ import annotations

from webhook_processor.aws.bootstrap import (
    aws_client_config,
    operator_client_config,
)


def _bounds(config: object) -> tuple[object, ...]:
    return (
        config.connect_timeout,  # type: ignore[attr-defined]
        config.read_timeout,  # type: ignore[attr-defined]
        config.retries["total_max_attempts"],  # type: ignore[attr-defined]
        config.retries["mode"],  # type: ignore[attr-defined]
    )


def test_the_functions_calls_fail_well_inside_the_functions_60_s() -> None:
    connect, read, attempts, mode = _bounds(aws_client_config())
    assert (connect, read, attempts, mode) == (2, 5, 3, "standard")


def test_the_operators_synchronous_invocations_wait_for_the_function_and_never_repeat_it() -> None:
    _, read, attempts, _ = _bounds(operator_client_config(invokes=True))
    assert read > 900  # Lambda's longest timeout
    assert attempts == 1  # a retried read timeout would run the function again
    assert _bounds(operator_client_config()) == (5, 30, 3, "standard")
