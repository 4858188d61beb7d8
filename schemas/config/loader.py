"""Loading a run config: YAML, `${VAR}` expansion, `--set` overrides, validation with errors by
YAML path, and the redaction of secrets in what a run folder keeps."""

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from humpback.schemas.config.run import RunConfig
from humpback.schemas.errors import UserError

_SECRET_WORDS = {"secret", "password", "passwd", "token", "credential", "credentials"}
_KEY_KINDS = {"access", "api", "private"}  # access_key, api_key, private_key


def names_secret(key: str) -> bool:
    """Whether a config key names a secret by its words (`aws_secret_access_key`, `hf_token`),
    not a setting that mentions one (`max_new_tokens`, `api_key_env`)."""
    words = re.split(r"[_\-.]", key.lower())
    if words[-1] == "env":  # the name of the variable holding it
        return False
    return bool(_SECRET_WORDS & set(words)) or ("key" in words and bool(_KEY_KINDS & set(words)))


def redact_secrets(value: Any) -> Any:
    """A config dump with the value of every key that names a secret replaced (a run folder
    keeps its config; credentials belong in the environment)."""
    if isinstance(value, dict):
        return {k: "<redacted>" if names_secret(str(k)) and v else redact_secrets(v)
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [redact_secrets(v) for v in value]
    return value


class ConfigError(UserError, ValueError):
    """A config that cannot be loaded; the message names each bad field by its YAML path."""


_ENV = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def _expand(value: Any) -> Any:
    """Expand ${VAR} and ${VAR:-default} in every string of the parsed YAML."""
    if isinstance(value, str):
        return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def apply_override(data: dict, assignment: str) -> None:
    """Apply one `key.sub=value` override; the value is parsed as YAML."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set expects key.sub=value, got {assignment!r}")
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part} is not a mapping")
    node[leaf] = yaml.safe_load(raw)


MOVED = {"evaluate.decontamination_ngram": "decontamination.ngram", "measure.inference": "measure"}


def load_config(path: str | Path, overrides: list[str] = ()) -> RunConfig:
    """Read, expand, override and validate a run config."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    for assignment in overrides:
        apply_override(data, assignment)
    try:
        return RunConfig.model_validate(_expand(data))
    except ValidationError as err:
        lines = [f"{path}: {err.error_count()} invalid field(s)"]
        for e in err.errors():
            where = ".".join(str(p) for p in e["loc"]) or "(top level)"
            moved = next((f" (moved to {new})" for old, new in MOVED.items()
                          if where.startswith(old)), "")  # fmt: skip
            lines.append(f"  {where}: {e['msg']}{moved}")
        raise ConfigError("\n".join(lines)) from err
