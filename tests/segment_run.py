"""Run the real segment pipeline over files, as the stage does, for the tests."""

from apache_beam.options.pipeline_options import PipelineOptions

from humpback.beam_pipelines import segment_pipeline
from humpback.beam_pipelines.counting import run_and_count
from humpback.run.beam_run import new_pipeline
from humpback.run.manifest import counts_from
from humpback.schemas.config import CorpusConfig, SegmentConfig
from humpback.storage.shards import load_rows

CORPUS = CorpusConfig(paths=["-"])


def run_segment(files, out_dir, cfg: SegmentConfig | None = None, corpus=CORPUS, **opts):
    """(counts, segment rows, dead-letter rows); raises unless the counts reconcile."""
    pipeline = new_pipeline(PipelineOptions([], **opts))
    corpus = corpus.model_copy(update={"paths": [str(f) for f in files]})
    segment_pipeline.build(pipeline, corpus, cfg or SegmentConfig(), str(out_dir))
    counts = counts_from(run_and_count(pipeline))
    return (
        counts,
        load_rows(f"{out_dir}/segments-*.parquet"),
        load_rows(f"{out_dir}/dead_letter-*.parquet"),
    )
