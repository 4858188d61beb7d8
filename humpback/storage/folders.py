"""Files and folders at any fsspec URL: small files read and written atomically, folders
removed, models copied to local disk to be loaded and uploaded once written."""

import os
import tempfile
import uuid
from functools import cache

import fsspec

from humpback.schemas.errors import InputNotFound


def is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def download(url: str, local_dir: str) -> None:
    """Copy the folder at `url` into `local_dir` (FileNotFoundError if there is none)."""
    fs, _, (root,) = fsspec.get_fs_token_paths(url)
    root = root.rstrip("/")
    files = fs.find(root)
    if not files:
        raise FileNotFoundError(url)
    for path in files:
        target = f"{local_dir}/{path[len(root) + 1 :]}"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fs.get_file(path, target)


def upload(local_dir: str, url: str, last: tuple[str, ...] = ()) -> None:
    """Copy a local folder to `url`; the files named in `last` go after all others, so a reader
    that waits for them sees a complete folder."""
    fs, _, (root,) = fsspec.get_fs_token_paths(url)
    local = fsspec.filesystem("file")
    files = sorted(local.find(local_dir), key=lambda p: p.rsplit("/", 1)[-1] in last)
    for path in files:
        target = f"{root.rstrip('/')}/{path[len(local_dir.rstrip('/')) + 1 :]}"
        fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(path, target)


def read_text(url: str) -> str | None:
    """A small file's text, or None if there is none."""
    # Not fs.exists(): its bare `except:` would turn a Ctrl-C into "no such file".
    fs, _, (path,) = fsspec.get_fs_token_paths(url)
    try:
        return fs.cat_file(path).decode()
    except FileNotFoundError:
        return None


def write_text(url: str, text: str) -> None:
    """Write a small file whole or not at all (`write_files`)."""
    write_files({url: text.encode()})


def write_files(files: dict[str, bytes]) -> None:
    """Write small files on one filesystem, each whole or not at all: readers never see half of
    one. An object store shows an uploaded object whole (and takes the batch at once); a local
    file is written aside, under a name of its own, and renamed."""
    if not files:
        return
    fs, _, paths = fsspec.get_fs_token_paths(list(files), expand=False)
    if is_remote(next(iter(files))):
        fs.pipe(dict(zip(paths, files.values(), strict=True)))
        return
    for folder in {path.rsplit("/", 1)[0] for path in paths}:
        fs.makedirs(folder, exist_ok=True)
    for path, blob in zip(paths, files.values(), strict=True):
        aside = f"{path}.{uuid.uuid4().hex}.tmp"
        fs.pipe_file(aside, blob)
        fs.mv(aside, path)


def remove_folder(url: str) -> None:
    """Delete a folder and everything in it, if it exists."""
    fs, _, (root,) = fsspec.get_fs_token_paths(url)
    try:  # not fs.exists(): it swallows Ctrl-C
        fs.rm(root, recursive=True)
    except FileNotFoundError:
        pass


@cache
def local_copy(path: str) -> str:
    """A local folder holding the model at `path`: the path itself, or one download a process."""
    if not is_remote(path):
        return path
    local_dir = tempfile.mkdtemp(prefix="humpback-model-")
    download(path, local_dir)
    return local_dir


def local_files(urls: list[str]) -> list[str]:
    """The files at `urls`, remote ones copied once into a new local folder."""
    if not any(is_remote(url) for url in urls):
        return list(urls)
    local_dir = tempfile.mkdtemp(prefix="humpback-files-")
    copies = []
    for i, url in enumerate(urls):
        if not is_remote(url):
            copies.append(url)
            continue
        fs, path = fsspec.core.url_to_fs(url)
        copies.append(f"{local_dir}/{i:05d}-{os.path.basename(path)}")
        fs.get_file(path, copies[-1])
    return copies


def read_json_rows(url: str) -> list[dict]:
    """The records of a JSON list (`.json`) or of JSON lines (any other name), at any URL."""
    import json

    text = read_text(url)
    if text is None:
        raise InputNotFound(f"no file {url}")
    if url.endswith(".json"):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def list_files(url: str, suffix: str = "") -> list[str]:
    """The files directly in a folder whose names end with `suffix`, sorted, as URLs if remote."""
    fs, _, (root,) = fsspec.get_fs_token_paths(url)
    names = sorted(p for p in fs.ls(root, detail=False) if p.endswith(suffix))
    return [fs.unstrip_protocol(p) if is_remote(url) else p for p in names]
