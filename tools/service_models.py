"""Write ``src/webhook_processor/aws/models/``: botocore's service models cut to the operations
the functions call (``make service-models`` after upgrading botocore; a test fails until then).

A client loads its service's whole model when it is made. SSM's is 0.8 MB of JSON for 146
operations, of which the functions call one (``GetParameter``, the only SSM action their roles
allow): making that client took 33-48 ms of each cold start, and 5 ms with the cut model.
The functions' session (``webhook_processor.aws.bootstrap.functions_session``) looks here
before botocore's own data, so only its clients use these; anything not here (endpoint rules,
paginators, other services) is botocore's own. The operator's commands use the full models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
MODELS: Final = ROOT / "src" / "webhook_processor" / "aws" / "models"
#: service -> the operations the functions call, which are the ones their roles allow.
OPERATIONS: Final = {"ssm": ("GetParameter",)}


def cut(service: str, operations: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The service's API version and its model with ``operations`` and the shapes they reach."""
    import botocore.loaders

    loader = botocore.loaders.Loader()
    version = loader.determine_latest_version(service, "service-2")
    model = loader.load_service_model(service, "service-2", version)
    shapes: dict[str, Any] = {}

    def reach(name: str) -> None:
        if name in shapes:
            return
        shape = shapes[name] = model["shapes"][name]
        for part in ("member", "key", "value"):
            if part in shape:
                reach(shape[part]["shape"])
        for member in shape.get("members", {}).values():
            reach(member["shape"])

    kept = {name: model["operations"][name] for name in operations}
    for operation in kept.values():
        for part in ("input", "output"):
            if part in operation:
                reach(operation[part]["shape"])
        for error in operation.get("errors", ()):
            reach(error["shape"])
    return version, {**model, "operations": kept, "shapes": dict(sorted(shapes.items()))}


def render(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=1, sort_keys=True) + "\n"


def path(service: str, version: str) -> Path:
    return MODELS / service / version / "service-2.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether they are current")
    args = parser.parse_args(argv)
    stale = []
    for service, operations in OPERATIONS.items():
        version, model = cut(service, operations)
        target = path(service, version)
        if target.exists() and target.read_text() == render(model):
            continue
        stale.append(target.relative_to(ROOT).as_posix())
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(model))
    verb = "stale" if args.check else "written"
    print("\n".join(f"{verb}: {name}" for name in stale) or "current")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
