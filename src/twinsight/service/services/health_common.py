"""Shared by the outbreak and patient services: the template check and the problem of a twin
whose configuration or data cannot serve the request."""

from __future__ import annotations

from ..problems import ProblemError
from .registry import TwinHandle

__all__ = ["not_ready", "require_template"]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def require_template(handle: TwinHandle, template: str) -> None:
    """A 409 problem unless the twin was made from ``template``."""
    twin = handle.twin
    if twin.template != template:
        raise ProblemError(
            409,
            "wrong-template",
            "Wrong twin template",
            f"twin '{twin.name}' is {_article(twin.template)} {twin.template} twin: this "
            f"endpoint works on {template} twins (create one with 'twinsight init NAME "
            f"--template {template}')",
            template=twin.template,
            expected=template,
        )


def not_ready(handle: TwinHandle, message: str) -> ProblemError:
    """A 409 problem: the twin lacks what the request needs (data, settings); the message
    says the fix, with the server's folders left out."""
    folder = str(handle.twin.path)
    detail = message.replace(folder + "/", "").replace(folder, f"twin '{handle.twin.name}'")
    return ProblemError(409, "twin-not-ready", "Twin not ready", detail)
