"""The augment and curate stages' pipelines as the tests build them: the generic task pipeline
with the stages' steps, on a model and inference settings of the test's choosing."""

from humpback.beam_pipelines import task_pipeline
from humpback.beam_pipelines.counting import run_and_count
from humpback.beam_pipelines.curate_tail import keep_and_convert
from humpback.run.beam_run import new_pipeline
from humpback.schemas.config import AugmentConfig, CurateConfig, TagsConfig
from humpback.tasks.backtranslate import Backtranslate
from humpback.tasks.likelihood import AnswerIFD, InstructionPMI
from humpback.tasks.score import Score
from humpback.tasks.task import ModelStep


def augment(model: str, segments: str, out: str, cfg: AugmentConfig, cache_dir=None,
            tail=task_pipeline.count_written, total: int | None = None) -> dict:  # fmt: skip
    """Run augment over the segments shards `segments` (a glob); its counts."""
    task = Backtranslate(
        model, check_form=cfg.check_form, check_answer=cfg.check_answer, samples=cfg.samples
    )
    steps = [ModelStep(task, model, cfg)]
    if cfg.pmi:
        steps.append(ModelStep(InstructionPMI(), model, cfg))
    pipeline = new_pipeline()
    task_pipeline.build(pipeline, "augment", segments, steps, out, total, cache_dir, tail=tail)
    return run_and_count(pipeline)


def curate(model: str, candidates: str, out: str, cfg: CurateConfig, t: int = 1) -> dict:
    """Run curate_t over the candidates shards `candidates` (a glob); its counts."""
    steps = []
    if cfg.rubric:
        steps.append(ModelStep(Score(model, t, cfg.rubric), model, cfg))
    if cfg.uses_likelihood:
        steps.append(ModelStep(AnswerIFD(model, t), model, cfg))
    pipeline = new_pipeline()
    tail = keep_and_convert(cfg, TagsConfig(), out)
    task_pipeline.build(pipeline, f"curate_{t}", candidates, steps, out, tail=tail)
    return run_and_count(pipeline)
