"""The example specs shipped inside the package (``twinsight/examples/*.yaml``)."""

from __future__ import annotations

from importlib import resources

__all__ = ["example_names", "example_text"]


def example_names() -> list[str]:
    """Names (without ``.yaml``) of the bundled examples."""
    folder = resources.files("twinsight").joinpath("examples")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def example_text(name: str) -> str:
    """The YAML text of a bundled example."""
    return resources.files("twinsight").joinpath("examples", f"{name}.yaml").read_text("utf-8")
