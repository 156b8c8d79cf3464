"""Model references to backend factories, through the backend registry.

A reference is the one string a user writes in a spec or on the command line:
``<prefix>`` or ``<prefix>:<rest>``, where the prefix names a registered backend
family (:data:`forkingpaths.registry.backends`) and the family alone parses the
rest. Turning a reference into a factory loads no model and calls nothing, so a
spec is validated completely before any model is touched.
"""

from __future__ import annotations

from forkingpaths import registry
from forkingpaths.errors import UserError
from forkingpaths.models.base import BackendFactory, BackendFamily, BackendSettings, PermanentBackendError, Replicas


def install_hint(name: str) -> str | None:
    """``None`` when the family can be used here; else what is missing and how to install it."""
    missing = registry.backends.missing_modules(name)
    if not missing:
        return None
    entry = registry.backends.entry(name)
    extra = entry.extra if entry else None
    install = f"pip install 'forkingpaths[{extra}]'" if extra else f"pip install {' '.join(missing)}"
    return f"needs {', '.join(missing)}: {install}"


def family(name: str, key_path: str | None = None) -> BackendFamily:
    found: BackendFamily = registry.backends.get(name, key_path)
    return found


def backend_factory(
    reference: str, settings: BackendSettings | None = None, key_path: str | None = None, replicas: Replicas | None = None
) -> BackendFactory:
    """The factory a reference names; a malformed or unknown one is a one-line :class:`UserError`.

    ``key_path`` (``models[0]``, ``roles.judge[1]``) is put in front of the message so
    the user sees where in the spec the reference is. With ``replicas`` the model is served
    at several base URLs; only a family with a ``replicated`` method (HTTP) takes them.
    """
    settings = settings or BackendSettings()
    where = f"{key_path}: " if key_path else ""
    text = reference.strip()
    prefix, sep, rest = text.partition(":")
    if prefix not in registry.backends:
        known = ", ".join(" or ".join(_syntax(n)) for n in registry.backends.names())
        raise UserError(f"{where}invalid model reference {reference!r}: expected {known}")
    hint = install_hint(prefix)
    if hint:
        raise UserError(f"{where}the {prefix} backend is not installed ({hint})")
    try:
        if replicas is None:
            return family(prefix).factory(text, rest if sep else None, settings)
        replicated = getattr(family(prefix), "replicated", None)
        if replicated is None:
            raise UserError(f"{where}the {prefix} backend serves no base URLs; remove base_urls")
        found: BackendFactory = replicated(text, rest if sep else None, replicas, settings)
        return found
    except ValueError as error:
        raise UserError(f"{where}invalid model reference {reference!r}: {error}") from None
    except PermanentBackendError as error:  # the family's own refusal, e.g. the embedded model is missing
        raise UserError(f"{where}{reference}: {error}") from None


def _syntax(name: str) -> tuple[str, ...]:
    if install_hint(name):
        return (f"'{name}:…'",)
    return tuple(f"'{s}'" for s in family(name).syntax)


def describe_backends(settings: BackendSettings | None = None) -> list[dict[str, object]]:
    """Every registered family: available or not (and what to install), and its description."""
    settings = settings or BackendSettings()
    out: list[dict[str, object]] = []
    for entry in registry.backends.entries():
        hint = install_hint(entry.name)
        record: dict[str, object] = {"name": entry.name, "available": hint is None}
        if hint:
            record.update(description=entry.description, install=hint)
        else:
            fam = family(entry.name)
            record.update(references=list(fam.syntax), **fam.describe(settings))
        out.append(record)
    return out
