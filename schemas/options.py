"""Every option of the run config, with its type, default and description, read from the
config models themselves (what `humpback config [SECTION]` prints)."""

import types
import typing
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from humpback.schemas.config import ConfigError, RunConfig


def options(model: type[BaseModel] = RunConfig, prefix: str = "",
            defaults: BaseModel | None = None) -> Iterator[tuple[str, str, str, str]]:  # fmt: skip
    """(YAML path, type, default, description) of every option under `model`, sections first
    by their own line, then their options."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        default = getattr(defaults, name, None) if defaults is not None else field.default
        if field.default_factory is not None and defaults is None:
            default = field.default_factory()
        section = _section(field.annotation)
        description = field.description or ""
        if section is not None:
            doc = (section.__doc__ or "").strip().split("\n\n")[0]
            yield path, "section", _shown(default, section), description or " ".join(doc.split())
            inner = default if isinstance(default, section) else None
            yield from options(section, f"{path}.", inner)
        else:
            yield path, type_name(field.annotation), _shown(default), description


def options_of(section: str | None) -> list[tuple[str, str, str, str]]:
    """The options of one top-level section (all of them for None); a clear error for a name
    that is none."""
    found = list(options())
    if section is None:
        return found
    picked = [o for o in found if o[0] == section or o[0].startswith(f"{section}.")]
    if not picked:
        names = ", ".join(RunConfig.model_fields)
        raise ConfigError(f"no config section {section!r}; sections: {names}")
    return picked


def _section(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (also inside `X | None`), or None for a plain value."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def type_name(annotation: Any) -> str:
    """A type as a YAML writer thinks of it: `a | b` for a Literal, `null` for None."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " | ".join(str(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    if origin is not None:
        args = ", ".join(type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation))


def _shown(value: Any, section: type[BaseModel] | None = None) -> str:
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "null"
    if section is not None:
        return "(below)"
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
