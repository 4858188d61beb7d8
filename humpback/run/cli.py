"""The `humpback` command: validate a config, run its stages (resuming), show a run's status."""

import argparse
import logging
import os
import sys
from pathlib import Path

from humpback.inference.allocator import map_large_blocks
from humpback.run.manifest import read_manifest
from humpback.run.plan import Interrupted
from humpback.run.summary import print_summary
from humpback.schemas.config import RunConfig, load_config, redact_secrets
from humpback.schemas.errors import UserError

USAGE = """humpback run CONFIG [--only STAGE | --until STAGE] [--force STAGE ...] [--set k=v ...] \
[-- BEAM_ARGS]
       humpback validate CONFIG [--set k=v ...]
       humpback status RUN_DIR
       humpback measure RUN_DIR [--set k=v ...]
       humpback report RUN_DIR [-o FILE]
       humpback dataflow-job CONFIG [--set k=v ...] [-- BEAM_ARGS]
       humpback sample STAGE_DIR [--name SHARDS] [-n N] [--seed S]
       humpback export RUN_DIR OUT [--iteration T] [--with-seed]
       humpback config [SECTION]"""


class _WithoutBeamImportNoise(logging.Filter):
    """apache_beam logs "apitools not found" on import wherever its GCP extra is not installed."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("apitools not found")


def main(argv: list[str] | None = None) -> int:
    logging.getLogger().addFilter(_WithoutBeamImportNoise())
    map_large_blocks()
    if not sys.stderr.isatty():  # no progress bars redrawn into a log; stages print progress lines
        os.environ.setdefault("TQDM_DISABLE", "1")
    argv = sys.argv[1:] if argv is None else argv
    beam_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, beam_args = argv[:split], argv[split + 1 :]
    args = _parser().parse_args(argv)
    try:
        return args.command(args, beam_args)
    except UserError as err:  # a mistake to fix, said on one line; the traceback on request
        if args.traceback:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2


def settable(command: argparse.ArgumentParser) -> None:
    """The command takes `--set key.sub=value` overrides of its config."""
    command.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides"
    )


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--traceback", action="store_true", help="on a user error, show the traceback too"
    )
    parser = argparse.ArgumentParser(prog="humpback", usage=USAGE, description=__doc__)
    sub = parser.add_subparsers(required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        """A command: its help is its description; every command takes --traceback."""
        return sub.add_parser(name, parents=[common], help=help, description=help,
                              prog=f"humpback {name}")  # fmt: skip

    run = add("run", help="run every stage of a config in order, skipping complete ones")
    run.add_argument("config")
    which = run.add_mutually_exclusive_group()
    which.add_argument("--only", metavar="STAGE", help="run just this stage")
    which.add_argument("--until", metavar="STAGE", help="stop after this stage")
    run.add_argument("--force", metavar="STAGE", action="append", default=[], help="redo it")
    settable(run)
    run.set_defaults(command=cmd_run)
    validate = add(
        "validate",
        help="check a config and print it resolved: every option, its default filled in and "
        "${VAR} expanded, as YAML",
    )
    validate.add_argument("config")
    settable(validate)
    validate.set_defaults(command=cmd_validate)
    status = add("status", help="a table of a run's stages and their counts")
    status.add_argument("run_dir")
    status.set_defaults(command=cmd_status)
    measure = add("measure", help="(re)take the method's measures of a run on its held-out pairs")
    measure.add_argument("run_dir")
    settable(measure)
    measure.set_defaults(command=cmd_measure)
    report = add("report", help="write a run's report: one self-contained HTML page")
    report.add_argument("run_dir")
    report.add_argument("-o", "--output", help="default: RUN_DIR/report.html")
    report.set_defaults(command=cmd_report)
    job = add(
        "dataflow-job",
        help="build the Beam stages' Dataflow jobs offline (a dry run) and show their steps, "
        "resource hints and container image",
    )
    job.add_argument("config")
    settable(job)
    job.set_defaults(command=cmd_dataflow_job)
    sample = add("sample", help="print random rows of a stage's shards")
    sample.add_argument("stage_dir")
    sample.add_argument("--name", default=None, help="shard set (default: the stage's first)")
    sample.add_argument("-n", type=int, default=10)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--chars", type=int, default=300, help="show this much of each field")
    sample.set_defaults(command=cmd_sample)
    export = add("export", help="write a run's curated pairs as a Hugging Face dataset folder "
                 "(data/train-*.parquet, a dataset card, the config)")  # fmt: skip
    export.add_argument("run_dir")
    export.add_argument("out", help="the folder to write (any fsspec URL)")
    export.add_argument("--iteration", type=int, help="default: the last curated one")
    export.add_argument("--with-seed", action="store_true", help="the seed pairs too, tagged")
    export.set_defaults(command=cmd_export)
    options = add("config", help="every config option with its type, default and description")
    options.add_argument("section", nargs="?", help="one section (curate, segment, ...)")
    options.set_defaults(command=cmd_config)
    return parser


def cmd_export(args: argparse.Namespace, _beam_args: list[str]) -> int:
    from humpback.run.export import export_dataset

    done = export_dataset(args.run_dir, args.out, args.iteration, args.with_seed)
    print(f"{done['rows']} rows of iteration {done['iteration']} in {args.out}:")
    print("\n".join(f"  {f}" for f in done["files"]))
    print(f"open: datasets.load_dataset({args.out!r}); upload: huggingface-cli upload "
          f"--repo-type dataset USER/NAME {args.out}")  # fmt: skip
    return 0


def cmd_config(args: argparse.Namespace, _beam_args: list[str]) -> int:
    from humpback.schemas.options import options_of

    rows = [("option", "type", "default", "description"), *options_of(args.section)]
    widths = [min(max(len(r[i]) for r in rows), cap) for i, cap in enumerate((44, 28, 24))]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row[:3], widths, strict=True)), row[3])
    return 0


def cmd_validate(args: argparse.Namespace, _beam_args: list[str]) -> int:
    config = load_config(args.config, args.overrides)
    import yaml

    from humpback.run.stages import build_stages

    names = [s.name for s in build_stages(config)]
    resolved = redact_secrets(config.model_dump(mode="json"))
    print(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), end="")
    print(f"# {args.config}: valid; stages: {' -> '.join(names)}")
    return 0


def cmd_dataflow_job(args: argparse.Namespace, beam_args: list[str]) -> int:
    config = load_config(args.config, args.overrides)
    try:
        from humpback.run.dataflow_job import dataflow_jobs, print_jobs

        jobs = dataflow_jobs(config, beam_args)
    except ImportError as err:
        print(
            f"error: {err}: the Dataflow runner needs `pip install humpback[gcp]`", file=sys.stderr
        )
        return 2
    print_jobs(jobs)
    return 0


def cmd_run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from humpback.run.graph import RunContext
    from humpback.run.stages import build_stages

    config = load_config(args.config, args.overrides)
    stages = build_stages(config)
    _save_config(config)
    if _run(config, stages, args.only, args.until, args.force, beam_args):
        return 130
    run_dir = RunContext(config).run_dir
    print()
    print_summary(run_dir, [s.name for s in stages])
    from humpback.run.report import write_report

    print(f"\nreport: {write_report(run_dir, [s.name for s in stages])}")
    return 0


def cmd_report(args: argparse.Namespace, _beam_args: list[str]) -> int:
    config = _run_config(args.run_dir)
    if config is None:
        return 2
    from humpback.run.report import write_report
    from humpback.run.stages import build_stages

    stages = [s.name for s in build_stages(config)]
    print(write_report(str(Path(args.run_dir).resolve()), stages, args.output))
    return 0


def cmd_measure(args: argparse.Namespace, beam_args: list[str]) -> int:
    from humpback.run.stages import build_stages

    overrides = [f"run_dir={Path(args.run_dir).resolve()}", "measure.enabled=true", *args.overrides]
    config = _run_config(args.run_dir, overrides)
    if config is None:
        return 2
    stages = build_stages(config)
    if _run(config, stages, "measure", None, ["measure"], beam_args):
        return 130
    names = [s.name for s in stages]
    print_summary(config.run_dir, names, ("measures",))  # absolute: set from the run folder
    return 0


def _run(config: RunConfig, stages: list, only, until, force: list[str], beam_args) -> bool:
    """Run the selected stages; True when interrupted (a rerun resumes)."""
    from humpback.run.graph import RunContext
    from humpback.run.plan import run_stages, select

    selected = select(stages, only, until, force)
    try:
        run_stages(RunContext(config, beam_args), selected, force,
                   say=lambda line: print(f"[humpback] {line}", flush=True))  # fmt: skip
    except Interrupted as stop:
        print(f"[humpback] {stop.stage}: interrupted; run the same command again to resume")
        return True
    return False


def _run_config(run_dir: str, overrides: list[str] = ()) -> RunConfig | None:
    """The config a run saved in its folder, or None (said on stderr) when there is none."""
    config_file = Path(run_dir, "config.yaml")
    if not config_file.exists():
        print(f"error: {run_dir} is not a humpback run (no config.yaml)", file=sys.stderr)
        return None
    return load_config(config_file, overrides)


def cmd_status(args: argparse.Namespace, _beam_args: list[str]) -> int:
    config = _run_config(args.run_dir)
    if config is None:
        return 2
    from humpback.run.stages import build_stages

    print_summary(args.run_dir, [s.name for s in build_stages(config)], ("stages",))
    return 0


def cmd_sample(args: argparse.Namespace, _beam_args: list[str]) -> int:
    import random

    from humpback.storage.shards import load_rows, shard_pattern

    manifest = read_manifest(args.stage_dir) or {"outputs": {}}
    name = args.name or next((n for n in manifest["outputs"] if n != "dead_letter"), None)
    if name is None:
        print(f"error: no manifest in {args.stage_dir}; name the shards: --name", file=sys.stderr)
        return 2
    rows = load_rows(shard_pattern(args.stage_dir, name))
    picked = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    print(f"{len(picked)} of {len(rows)} rows of {args.stage_dir}/{name}-*.parquet")
    for i, row in enumerate(picked, 1):
        print(f"\n--- {i}")
        for key, value in row.items():
            if key == "header_path":
                value = " > ".join(value)
            text = " ".join(str(value).split())
            print(f"{key}: {text[: args.chars]}{' ...' if len(text) > args.chars else ''}")
    return 0


def _save_config(config: RunConfig) -> None:
    import fsspec
    import yaml

    fs, _, (run_dir,) = fsspec.get_fs_token_paths(config.run_dir)
    text = yaml.safe_dump(redact_secrets(config.model_dump(mode="json")), sort_keys=False)
    try:
        fs.makedirs(run_dir, exist_ok=True)
        fs.pipe_file(f"{run_dir}/config.yaml", text.encode())
    except OSError as err:  # a file in the way, no permission, a read-only file system
        reason = err.strerror or type(err).__name__
        raise UserError(f"run_dir: {config.run_dir} cannot be written ({reason})") from err


if __name__ == "__main__":
    sys.exit(main())
