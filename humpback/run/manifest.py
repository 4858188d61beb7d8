"""A stage's manifest: written last, so a stage is complete exactly when its manifest exists."""

import json
import uuid
from importlib import metadata

from humpback.storage.folders import read_text, write_text

MANIFEST = "manifest.json"
PACKAGES = ["humpback", "apache-beam", "torch", "transformers", "trl", "datasets", "pyarrow"]


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def reconcile(counts: dict) -> None:
    """Check records in = out + filtered + duplicates + dead-lettered; raise if not."""
    accounted = (
        counts["out"]
        + sum(counts["filtered"].values())
        + counts["duplicates"]
        + counts["dead_lettered"]
    )
    if counts["in"] != accounted:
        raise RuntimeError(f"counts do not reconcile: in {counts['in']} != {accounted}: {counts}")


def counts_from(raw: dict[str, int]) -> dict:
    """Normalise flat counters ("in", "filtered:<reason>", ...) into a manifest's counts."""
    counts = {
        "in": raw.get("in", 0),
        "out": raw.get("out", 0),
        "filtered": {
            k.split(":", 1)[1]: v for k, v in sorted(raw.items()) if k.startswith("filtered:")
        },
        "duplicates": raw.get("duplicates", 0),
        "dead_lettered": raw.get("dead_lettered", 0),
    }
    counts["detail"] = {
        k: v for k, v in sorted(raw.items()) if k not in counts and not k.startswith("filtered:")
    }
    reconcile(counts)
    return counts


def write_manifest(stage_dir: str, manifest: dict) -> dict:
    """Write the manifest atomically, with a fresh run id and the software versions."""
    manifest = {**manifest, "run_id": uuid.uuid4().hex, "versions": versions()}
    write_text(f"{stage_dir}/{MANIFEST}", json.dumps(manifest, indent=2))
    return manifest


def read_manifest(stage_dir: str) -> dict | None:
    text = read_text(f"{stage_dir}/{MANIFEST}")
    return None if text is None else json.loads(text)
