"""mypy checks every pulumi_aws service the program uses (pyproject skips the others)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_pulumi_aws_service_the_program_uses_is_type_checked() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    checked = {
        module
        for override in config["tool"]["mypy"]["overrides"]
        if override.get("follow_imports") == "normal"
        for module in override["module"]
    }
    source = "\n".join(path.read_text() for path in sorted((ROOT / "infra").glob("*.py")))
    assert "import pulumi_aws as aws" in source
    # ``aws.kms.Key``, not ``webhook_processor.aws.handlers``.
    used = set(re.findall(r"(?<![\w.])aws\.([a-z][a-z0-9]*_?)\.[A-Za-z]", source))
    assert {"kms", "lambda_", "iam"} <= used
    missing = sorted(f"pulumi_aws.{s}" for s in used if f"pulumi_aws.{s}.*" not in checked)
    assert missing == []
