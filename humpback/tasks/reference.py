"""Reference likelihood: how likely a model finds a strong reference answer to a prompt.

The mean log-probability per token of the answer given the prompt (asked as the evaluation asks
it, with its tags) tells models apart where a small model's judgments cannot: a model tuned on
better data should find good answers likelier. It measures fit to one reference's style as much
as quality, and says nothing of what the model would write.
"""

from dataclasses import dataclass
from typing import ClassVar

from humpback.inference.backend import Continuation
from humpback.schemas.records import ReferenceScore
from humpback.tasks.reads import LIKELIHOOD
from humpback.tasks.tags import tagged
from humpback.tasks.task import Rejected, Task


@dataclass(frozen=True)
class ReferenceLikelihood(Task):
    """A prompt {id, instruction, reference} gets the reference's log-probability under the
    model named `generator`."""

    generator: str
    tag: str | None = None
    style: str = "sentence"
    record: ClassVar = ReferenceScore
    reads: ClassVar = LIKELIHOOD
    cut_field: ClassVar = None  # the reference is cut by characters beforehand

    def prompt(self, prompt: dict) -> list[Continuation]:
        return [(tagged(prompt["instruction"], self.tag, self.style), prompt["reference"])]

    def parse(self, prompt: dict, answer) -> dict | Rejected:
        (logprob,), (tokens,) = answer
        if not tokens:
            return Rejected("empty_reference")
        return ReferenceScore(id=prompt["id"], generator=self.generator, logprob=logprob,
                              tokens=tokens).model_dump()  # fmt: skip
