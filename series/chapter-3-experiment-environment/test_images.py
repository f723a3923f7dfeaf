"""The images install what the tests test: every pin in the images' requirements files equals the
version installed in the venv that runs these tests (hack/venvs/jupyter.txt), and the hub image's
configurable-http-proxy is the version that hack/setup-chp.sh installs for the native tests."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

CHAPTER = Path(__file__).resolve().parent
REPO = CHAPTER.parent.parent
# KubeSpawner starts pods: it has no use outside a cluster, so the venv does not install it.
ONLY_IN_IMAGES = {"jupyterhub-kubespawner"}


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, ver = line.partition("==")
            assert sep, f"{path.name}: not pinned: {line}"
            out[name.strip().lower()] = ver.strip()
    return out


@pytest.mark.parametrize("image", ["hub", "notebook", "tensorboard"])
def test_image_pins_equal_the_venv(image: str) -> None:
    for name, ver in pins(CHAPTER / image / "requirements.txt").items():
        if name in ONLY_IN_IMAGES:
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            pytest.fail(f"{image}: {name}=={ver} is not in the test venv")
        assert installed == ver, f"{image}: {name} pinned {ver}, venv has {installed}"


def test_chp_version_matches_setup_script() -> None:
    dockerfile = "\n".join(
        line
        for line in (CHAPTER / "hub" / "Dockerfile").read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    script = (REPO / "hack" / "setup-chp.sh").read_text()
    in_image = set(re.findall(r"configurable-http-proxy@(\d+\.\d+\.\d+)", dockerfile))
    in_script = re.findall(r"^version=(\S+)$", script, re.M)
    assert len(in_image) == 1 and in_script == list(in_image), (in_image, in_script)
