"""The component's arguments (:class:`WebhookProcessorArgs`), checked before anything is
created, and the alarms' and the edge's settings.

A bad input must fail ``pulumi preview`` with a message that names the limit, not fail ``pulumi
up`` halfway through with an AWS error about one resource. :func:`check_suffix` and
:func:`alarm_settings` raise :class:`pulumi.RunError` (shown without a traceback).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import pulumi

#: The characters every name the suffix goes into takes (function, role, queue, topic, table,
#: log group, key alias, parameter path, alarm): the intersection of their alphabets.
SUFFIX_CHARACTERS: Final = re.compile(r"[A-Za-z0-9_-]+")
#: The longest name that carries the suffix under AWS's tightest limit: the publisher's function
#: and role, ``webhook-publisher-<suffix>``, in Lambda's and IAM's 64 characters.
LONGEST_PREFIX: Final = "webhook-publisher-"
NAME_LIMIT: Final = 64
MAX_SUFFIX: Final = NAME_LIMIT - len(LONGEST_PREFIX)
#: The reconciler's function and role, made only when ``apiKeys`` holds a key: one character
#: longer than the publisher's.
RECONCILER_PREFIX: Final = "webhook-reconciler-"
#: The providers whose events API the reconciler can list, each with its key in ``apiKeys``.
EVENT_API_PROVIDERS: Final = ("square", "stripe")
#: ``reconcileIntervalMinutes``: its default and bounds. Each run must end before the next
#: starts (the function's timeout is under the interval) and list a window that the providers'
#: retries have not long since filled (a day at most).
DEFAULT_RECONCILE_MINUTES: Final = 15
RECONCILE_MINUTES: Final = (5, 1440)
#: Lambda's longest timeout.
MAX_TIMEOUT_SECONDS: Final = 900


def check_suffix(suffix: str) -> str:
    """``suffix`` if every resource name can carry it, else :class:`pulumi.RunError`."""
    if not SUFFIX_CHARACTERS.fullmatch(suffix):
        raise pulumi.RunError(
            f"environmentSuffix {suffix!r} cannot be part of AWS names: use only letters, digits, "
            "'-' and '_' (Lambda, SQS and SNS names take nothing else; the default is the stack "
            "name, so set environmentSuffix if the stack's name has other characters)"
        )
    if len(suffix) > MAX_SUFFIX:
        raise pulumi.RunError(
            f"environmentSuffix {suffix!r} is {len(suffix)} characters: at most {MAX_SUFFIX} fit, "
            f"since '{LONGEST_PREFIX}<suffix>' names a Lambda function and an IAM role, both "
            f"limited to {NAME_LIMIT} characters"
        )
    return suffix


def check_api_keys(names: Sequence[str], suffix: str) -> None:
    """``apiKeys`` names only providers with an events API, and the reconciler's names fit."""
    unknown = sorted(set(names) - set(EVENT_API_PROVIDERS))
    if unknown:
        raise pulumi.RunError(
            f"apiKeys.{unknown[0]} is no provider with an events API: apiKeys takes "
            f"{' and '.join(EVENT_API_PROVIDERS)} (Adyen and generic senders have none; "
            "docs/operate.md, 'We missed webhooks')"
        )
    if names and len(RECONCILER_PREFIX + suffix) > NAME_LIMIT:
        raise pulumi.RunError(
            f"environmentSuffix {suffix!r} is {len(suffix)} characters: with apiKeys set, at "
            f"most {NAME_LIMIT - len(RECONCILER_PREFIX)} fit, since '{RECONCILER_PREFIX}<suffix>' "
            f"names a Lambda function and an IAM role, both limited to {NAME_LIMIT} characters"
        )


def check_interval(minutes: object) -> int:
    """``reconcileIntervalMinutes``, if a whole number of minutes in :data:`RECONCILE_MINUTES`."""
    low, high = RECONCILE_MINUTES
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
        raise pulumi.RunError(
            f"reconcileIntervalMinutes must be a whole number of minutes from {low} to {high} "
            f"(a day), got {minutes!r}: each run must end before the next starts"
        )
    return minutes


def reconcile_interval(text: str | None) -> int:
    """``reconcileIntervalMinutes`` as the stack's config holds it (text), checked."""
    if text is None:
        return DEFAULT_RECONCILE_MINUTES
    stripped = text.strip()
    return check_interval(int(stripped) if stripped.isdigit() else stripped)


def reconciler_timeout(minutes: int) -> int:
    """The reconciler's timeout: a minute under the interval, at most Lambda's 900 s."""
    return min(MAX_TIMEOUT_SECONDS, minutes * 60 - 60)


#: The functions whose concurrency ``reservedConcurrency`` may reserve.
CONCURRENT_FUNCTIONS: Final = ("receiver", "publisher", "reconciler")
#: Lambda keeps at least this many of the account's concurrent executions unreserved:
#: PutFunctionConcurrency fails past it ("decreases account's UnreservedConcurrentExecution
#: below its minimum value of [100]"). https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
UNRESERVED_MINIMUM: Final = 100
#: ``lambdaConcurrencyQuota``: the account's "Concurrent executions" quota (Service Quotas), which
#: bounds what may be reserved. 1,000 by default; new accounts may start far lower (10).
DEFAULT_CONCURRENCY_QUOTA: Final = 1000


#: ``publishHandoffSeconds`` by default: the publisher hands a refused publication off at once
#: (after the SDK's own retries), since the stream mapping retries a batch a few times only,
#: seconds apart: a record kept in the stream longer would be discarded by Lambda first.
DEFAULT_HANDOFF_SECONDS: Final = 0


def handoff_after(seconds: int | None) -> int:
    """``publishHandoffSeconds``: 0 to 60 (Lambda's few retries last about that long at best)."""
    if seconds is None:
        return DEFAULT_HANDOFF_SECONDS
    if not 0 <= seconds <= 60:
        raise pulumi.RunError(
            f"publishHandoffSeconds must be 0 to 60, got {seconds}: the stream mapping retries a "
            "batch 5 times, seconds apart, and a record kept longer in the stream would be "
            "discarded by Lambda before the publisher hands it off"
        )
    return seconds


def reserved_concurrency(config: object, quota: int = DEFAULT_CONCURRENCY_QUOTA) -> dict[str, int]:
    """``reservedConcurrency``: function -> concurrent executions reserved for it, checked. Each
    is at least 1 (0 throttles every invocation), and together they leave the account
    :data:`UNRESERVED_MINIMUM` unreserved out of ``quota``."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise pulumi.RunError(
            f"reservedConcurrency is set per function, got {config!r}: pulumi config set --path "
            "reservedConcurrency.receiver 50 (and .publisher, .reconciler); leave it unset "
            "unless the account has concurrency to spare"
        )
    unknown = sorted(set(config) - set(CONCURRENT_FUNCTIONS))
    if unknown:
        raise pulumi.RunError(
            f"reservedConcurrency.{unknown[0]} is no function: the functions are "
            f"{', '.join(CONCURRENT_FUNCTIONS)}"
        )
    for function, value in config.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise pulumi.RunError(
                f"reservedConcurrency.{function} must be a whole number of at least 1, got "
                f"{value!r}: 0 would throttle every invocation (unset it to reserve nothing)"
            )
    total = sum(config.values())
    if total > quota - UNRESERVED_MINIMUM:
        raise pulumi.RunError(
            f"reservedConcurrency reserves {total} concurrent executions in all: Lambda keeps "
            f"{UNRESERVED_MINIMUM} of the account's quota unreserved, so with "
            f"lambdaConcurrencyQuota {quota} at most {quota - UNRESERVED_MINIMUM} can be reserved "
            "(a new account's quota may be 10, where nothing can: ask Service Quotas for more, "
            "then set lambdaConcurrencyQuota)"
        )
    return {str(function): int(value) for function, value in config.items()}


def api_keys(config: object) -> dict[str, pulumi.Output[str]]:
    """The ``apiKeys`` object of the stack's config, each value a Pulumi secret: which providers
    have a key decides what is created, so their names are read in the clear; the keys never
    are (each is wrapped as a secret, as the state stores it)."""
    if config is None:
        return {}
    if not isinstance(config, Mapping) or not all(
        isinstance(value, str) and value.strip() for value in config.values()
    ):
        raise pulumi.RunError(
            "apiKeys takes an object of provider to API key: pulumi config set --secret --path "
            "'apiKeys.stripe' rk_live_..."
        )
    return {str(name): pulumi.Output.secret(value.strip()) for name, value in config.items()}


@dataclass(frozen=True)
class AlarmSettings:
    """When one alarm fires: ``statistic`` of the metric over ``period_seconds`` above
    ``threshold`` in ``evaluation_periods`` consecutive periods."""

    threshold: float
    period_seconds: int = 60
    evaluation_periods: int = 1
    #: Unset: ``webhook-alarm-<alarm>-<suffix>``, which docs/policies/deployer.json covers.
    name: str | None = None


#: Every alarm, by the name config uses (``alarms.<key>``), with its defaults. Counts alarm on
#: any occurrence; signature failures on a burst (one stale delivery is no news); the
#: publisher's iterator age (milliseconds) when it stays over two minutes for three.
DEFAULT_ALARMS: Final[Mapping[str, AlarmSettings]] = {
    "receiverUnavailable": AlarmSettings(0),
    "invalidSignatures": AlarmSettings(20, period_seconds=300),
    "receiverErrors": AlarmSettings(0),
    "receiverThrottles": AlarmSettings(0),
    "deadLetters": AlarmSettings(0),
    "publishFailures": AlarmSettings(0),
    "publishFailuresQueue": AlarmSettings(0),
    "publisherIteratorAge": AlarmSettings(120_000, evaluation_periods=3),
    "publisherErrors": AlarmSettings(0),
    "publisherThrottles": AlarmSettings(0),
    # Only with the edge (edge.enabled), in us-east-1: requests AWS WAF blocked, CloudFront's
    # 5xx rate (percent), the body-hashing function's errors.
    "edgeBlocked": AlarmSettings(0, period_seconds=300),
    "edgeErrors": AlarmSettings(5, period_seconds=300),
    "edgeFunctionErrors": AlarmSettings(0, period_seconds=300),
    # Only with a reconciler (apiKeys set): events it recovered, its failures, its function.
    "missedWebhooks": AlarmSettings(0),
    "reconcileFailures": AlarmSettings(0),
    "reconcilerErrors": AlarmSettings(0),
    "reconcilerThrottles": AlarmSettings(0),
}
#: The alarms that exist only with a reconciler.
RECONCILER_ALARMS: Final = frozenset(
    {"missedWebhooks", "reconcileFailures", "reconcilerErrors", "reconcilerThrottles"}
)
#: The alarms that exist only with the edge.
EDGE_ALARMS: Final = frozenset({"edgeBlocked", "edgeErrors", "edgeFunctionErrors"})
_FIELDS: Final = {
    "threshold": "threshold",
    "periodSeconds": "period_seconds",
    "evaluationPeriods": "evaluation_periods",
    "name": "name",
}
EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def alarm_settings(config: Mapping[str, Any] | None) -> dict[str, AlarmSettings]:
    """The defaults with ``config`` (the ``alarms`` object of the stack's config) applied."""
    settings = dict(DEFAULT_ALARMS)
    for alarm, overrides in (config or {}).items():
        if alarm not in settings:
            raise pulumi.RunError(
                f"alarms.{alarm} is no alarm; the alarms are: {', '.join(sorted(settings))}"
            )
        if not isinstance(overrides, Mapping) or set(overrides) - set(_FIELDS):
            raise pulumi.RunError(
                f"alarms.{alarm} takes an object with {', '.join(_FIELDS)}; got {overrides!r}"
            )
        changed = replace(
            settings[alarm], **{_FIELDS[key]: value for key, value in overrides.items()}
        )
        settings[alarm] = _checked(alarm, changed)
    return settings


def _checked(alarm: str, settings: AlarmSettings) -> AlarmSettings:
    period, periods = settings.period_seconds, settings.evaluation_periods
    if not isinstance(settings.threshold, int | float) or settings.threshold < 0:
        raise pulumi.RunError(f"alarms.{alarm}.threshold must be a number >= 0")
    if not isinstance(period, int) or period < 60 or period % 60:
        raise pulumi.RunError(
            f"alarms.{alarm}.periodSeconds must be a multiple of 60 (CloudWatch's periods for "
            f"standard-resolution metrics), got {period!r}"
        )
    if not isinstance(periods, int) or periods < 1 or period * periods > 86400:
        raise pulumi.RunError(
            f"alarms.{alarm}.evaluationPeriods must be at least 1, and periodSeconds times "
            f"evaluationPeriods at most 86400 (one day), got {periods!r}"
        )
    if settings.name is not None and not 1 <= len(settings.name) <= 255:
        raise pulumi.RunError(f"alarms.{alarm}.name must be 1 to 255 characters")
    return settings


def check_email(address: str | None) -> str | None:
    """``address`` if it looks like an email address (SNS confirms it), else an error."""
    if address is not None and not EMAIL.fullmatch(address):
        raise pulumi.RunError(f"alarmEmail {address!r} is not an email address")
    return address


#: The windows AWS WAF counts a rate-based rule's requests over.
RATE_WINDOWS: Final = (60, 120, 300, 600)
PRICE_CLASSES: Final = ("PriceClass_100", "PriceClass_200", "PriceClass_All")


@dataclass(frozen=True)
class EdgeSettings:
    """CloudFront with an AWS WAF rate-based rule in front of the receiver (``edge``
    config). Off by default: the plain Function URL."""

    enabled: bool = False
    #: Requests one IP address may send in ``rate_window_seconds``; more are blocked (403) at
    #: the edge, so they cost no invocation. Providers send far fewer from one address.
    rate_limit: int = 300
    rate_window_seconds: int = 300
    #: Where CloudFront serves from: the cheapest (North America and Europe) by default.
    price_class: str = "PriceClass_100"
    #: The Function URL answers CloudFront only (AWS_IAM). False while the providers are moved
    #: to the distribution's URL: the Function URL stays public until they are (docs/deploy.md,
    #: "Turning the edge on and off").
    lock_function_url: bool = True


_EDGE_FIELDS: Final = {
    "enabled": "enabled",
    "rateLimit": "rate_limit",
    "rateWindowSeconds": "rate_window_seconds",
    "priceClass": "price_class",
    "lockFunctionUrl": "lock_function_url",
}


def edge_settings(config: Mapping[str, Any] | None) -> EdgeSettings:
    """The ``edge`` object of the stack's config, checked."""
    if config is None:
        return EdgeSettings()
    if not isinstance(config, Mapping) or set(config) - set(_EDGE_FIELDS):
        raise pulumi.RunError(f"edge takes an object with {', '.join(_EDGE_FIELDS)}")
    settings = EdgeSettings(**{_EDGE_FIELDS[key]: value for key, value in config.items()})
    if not isinstance(settings.rate_limit, int) or not 10 <= settings.rate_limit <= 2_000_000_000:
        raise pulumi.RunError("edge.rateLimit must be a whole number from 10 (AWS WAF's minimum)")
    if settings.rate_window_seconds not in RATE_WINDOWS:
        raise pulumi.RunError(f"edge.rateWindowSeconds must be one of {RATE_WINDOWS}")
    if settings.price_class not in PRICE_CLASSES:
        raise pulumi.RunError(f"edge.priceClass must be one of {', '.join(PRICE_CLASSES)}")
    if not isinstance(settings.lock_function_url, bool) or not isinstance(settings.enabled, bool):
        raise pulumi.RunError("edge.enabled and edge.lockFunctionUrl take true or false")
    return settings


@dataclass(frozen=True)
class WebhookProcessorArgs:
    """The component's settings; ``__main__`` fills them from stack configuration. Invalid
    settings raise :class:`pulumi.RunError` here, before any resource is registered."""

    environment_suffix: str
    artifact_path: str
    lambda_memory_mb: int = 1024
    lambda_timeout_seconds: int = 60
    lambda_runtime: str = "python3.13"
    log_retention_days: int = 30
    #: Function -> concurrency reserved for it (``settings.reserved_concurrency``); none by
    #: default: reserving fails on accounts with a small unreserved pool.
    reserved_concurrency: Mapping[str, int] = field(default_factory=dict)
    cost_center: str = "payments"
    owner: str = "payments-platform"
    #: Provider name -> signing secret (a Pulumi secret). Providers left out get no parameter,
    #: and the receiver answers their deliveries with 503 until one is set.
    signing_secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: Who deploys the stack and who operates it (reads the dead-letter queue, the table, the
    #: secrets): IAM principal ARNs the key policy names. Empty: the account root, so the
    #: account's IAM policies decide (docs/deploy.md lists what each needs).
    deployer_principal_arns: Sequence[str] = ()
    operator_principal_arns: Sequence[str] = ()
    #: The notification URL registered with Square, which Square signs (the ``webhook_url``
    #: output with ``square``, or a custom domain in front of it). Unset, the receiver answers
    #: Square's deliveries with 503 until it is set.
    square_notification_url: str | None = None
    secrets_ttl_seconds: int = 300
    async_retries: int = 2
    async_max_event_age_seconds: int = 3600
    stream_batch_size: int = 100
    #: A few: a record that crashes the publisher holds its shard for these retries only, then
    #: Lambda discards it to the publish-failures queue, whence the redrive publishes it.
    stream_max_retries: int = 5
    stream_max_record_age_seconds: int = 86400
    #: How long the publisher retries a refused record in the stream before handing it off.
    handoff_after_seconds: int = DEFAULT_HANDOFF_SECONDS
    #: Every alarm's threshold, period and name (``settings.alarm_settings``).
    alarms: Mapping[str, AlarmSettings] = field(default_factory=lambda: dict(DEFAULT_ALARMS))
    #: Subscribed to the alarm topic (SNS asks the address to confirm).
    alarm_email: str | None = None
    #: CloudFront and AWS WAF in front of the receiver (``edge.py``); off: the plain URL.
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    #: Provider -> events-API key (a Pulumi secret). With at least one, the reconciler is made
    #: (``reconciler.py``): each key a SecureString, a function on a schedule, its alarms.
    api_keys: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: How often the reconciler runs (``rate(N minutes)``).
    reconcile_interval_minutes: int = DEFAULT_RECONCILE_MINUTES
    #: ``quietAlarms``: provider -> the quiet alarm's band width, or False for none; providers
    #: left out get the default (``quiet.quiet_widths`` checks it).
    quiet_alarms: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_suffix(self.environment_suffix)
        check_email(self.alarm_email)
        check_api_keys(list(self.api_keys), self.environment_suffix)
        check_interval(self.reconcile_interval_minutes)
        if "reconciler" in self.reserved_concurrency and not self.api_keys:
            raise pulumi.RunError(
                "reservedConcurrency.reconciler is set, but there is no reconciler: it is made "
                "only when apiKeys holds a key"
            )
