"""The cut service models the functions load (tools/service_models.py) match botocore's own and
hold every operation the functions' roles allow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import service_models

INFRA = Path(__file__).resolve().parents[2] / "infra"


def test_the_cut_models_are_botocores_own_for_the_operations_kept() -> None:
    """Fails after a botocore upgrade changes a kept operation: ``make service-models``."""
    assert service_models.main(["--check"]) == 0
    for service, operations in service_models.OPERATIONS.items():
        version, model = service_models.cut(service, operations)
        written = service_models.path(service, version).read_text()
        assert written == service_models.render(model)
        assert sorted(model["operations"]) == sorted(operations)


def test_a_stale_model_is_reported_and_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_models, "MODELS", tmp_path)
    monkeypatch.setattr(service_models, "ROOT", tmp_path)
    assert service_models.main(["--check"]) == 1
    assert service_models.main([]) == 0
    assert service_models.main(["--check"]) == 0


def test_every_ssm_action_the_functions_roles_allow_is_in_the_cut_model() -> None:
    """A call the model lacks would be an AttributeError in production, where the role would
    have allowed it: the roles' SSM actions and the kept operations are one list."""
    allowed = {
        action
        for source in ("functions.py", "reconciler.py")
        for action in re.findall(r'"ssm:(\w+)"', (INFRA / source).read_text())
    }
    assert allowed == set(service_models.OPERATIONS["ssm"])
