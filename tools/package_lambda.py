"""Build the Lambda deployment artifact: ``dist/lambda.zip``, byte-identical on every build.

The runtime dependencies (``requirements/lambda.txt``: boto3 and Powertools,
resolved for the python3.13 runtime on arm64 and hash-pinned; ``--python`` builds for another
runtime version, matching the stack's ``lambdaRuntime``) are bundled rather than taken from
the runtime's own boto3 or the public Powertools layer: the artifact then carries exactly the
versions the test suite ran against, and deploying it depends on no other account's layer.

The package goes in without its local wing (``webhook_processor/local/``: SQLite, the server,
the inspector and its assets) and without the CLI (``cli.py``, which reaches both wings): the
functions import the core and the AWS wing only, and the import-linter contracts keep it so.

Determinism: entries sorted, every timestamp 1980-01-01, permissions 0644, one compression
level, no ``__pycache__``/``.pyc`` (bytecode for 3.11 would be useless on 3.13), no tests, no
console scripts.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_PARTS = {"__pycache__", "tests", "bin"}
#: What of the package stays out of the artifact: the local wing, and the CLI over both wings.
LOCAL_ONLY = ("local", "cli.py")
PLATFORM = "aarch64-manylinux2014"  # the functions run on arm64 (Graviton)
DEFAULT_PYTHON = "3.13"  # the default lambdaRuntime, python3.13


def install_dependencies(target: Path, uv: str, requirements: Path, python: str) -> None:
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--target",
            str(target),
            "--python-version",
            python,
            "--python-platform",
            PLATFORM,
            "--only-binary",
            ":all:",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(requirements),
        ],
        check=True,
        env={**os.environ, "UV_COMPILE_BYTECODE": "0"},
    )


def files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and not SKIP_PARTS & set(relative.parts) and path.suffix != ".pyc":
            found.append(relative)
    return sorted(found, key=lambda p: p.as_posix())


def write_zip(root: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_suffix(".tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for relative in files(root):
            info = zipfile.ZipInfo(relative.as_posix(), date_time=FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.create_system = 3  # Unix, so the permissions above are read back
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / relative).read_bytes(), compresslevel=9)
    temporary.replace(destination)


def build(destination: Path, uv: str, python: str = DEFAULT_PYTHON) -> str:
    with tempfile.TemporaryDirectory() as work:
        staging = Path(work) / "package"
        install_dependencies(staging, uv, ROOT / "requirements" / "lambda.txt", python)
        shutil.copytree(
            ROOT / "src" / "webhook_processor",
            staging / "webhook_processor",
            ignore=_local_only,
        )
        write_zip(staging, destination)
    return hashlib.sha256(destination.read_bytes()).hexdigest()


def _local_only(directory: str, names: list[str]) -> set[str]:
    """What ``copytree`` leaves out: bytecode everywhere, the local wing and the CLI at the
    package's root."""
    skipped = {name for name in names if name == "__pycache__" or name.endswith(".pyc")}
    if Path(directory) == ROOT / "src" / "webhook_processor":
        skipped |= set(LOCAL_ONLY) & set(names)
    return skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "lambda.zip")
    parser.add_argument("--uv", default=str(Path(sys.executable).parent / "uv"))
    parser.add_argument(
        "--python",
        default=DEFAULT_PYTHON,
        help=f"the Lambda runtime's Python version, as in lambdaRuntime (default {DEFAULT_PYTHON})",
    )
    args = parser.parse_args(argv)
    digest = build(args.output, args.uv, args.python)
    size = args.output.stat().st_size
    print(f"{args.output} {size / 1e6:.1f} MB sha256:{digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
