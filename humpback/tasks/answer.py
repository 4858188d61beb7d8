"""Answering: a model answers an evaluation prompt, with the paper's inference-time tags."""

from dataclasses import dataclass
from typing import ClassVar, Literal

from humpback.inference.backend import Messages
from humpback.schemas.config import TagsConfig
from humpback.schemas.records import EvalAnswer
from humpback.tasks.tags import tagged
from humpback.tasks.task import Task


def inference_tag(tags: TagsConfig, which: Literal["none", "seed", "both"]) -> str | None:
    """The tag appended at inference: none, the seed tag, or the seed and web tags together."""
    chosen = {"none": [], "seed": [tags.seed], "both": [tags.seed, tags.augmented]}[which]
    return " ".join(t for t in chosen if t) or None


@dataclass(frozen=True)
class Answer(Task):
    """An evaluation prompt {id, instruction, dataset} becomes the model's answer. An empty
    answer is kept as the model's answer: the judge, not the task, decides what it is worth."""

    generator: str
    tag: str | None = None
    style: str = "sentence"
    record: ClassVar = EvalAnswer
    cut_field: ClassVar[str] = "instruction"

    def prompt(self, prompt: dict) -> Messages:
        return tagged(prompt["instruction"], self.tag, self.style)

    def parse(self, prompt: dict, answer: str) -> dict:
        return EvalAnswer(
            id=prompt["id"],
            instruction=prompt["instruction"],
            dataset=prompt["dataset"],
            generator=self.generator,
            output=answer.strip(),
        ).model_dump()
