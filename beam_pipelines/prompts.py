"""The prompts of instruction backtranslation, in our own words (semantics from the paper).

Every prompt is a list of chat messages; the model's own chat template renders it.
"""

SEED_TAG = "Answer in the style of an AI Assistant."
WEB_TAG = "Answer with knowledge from web search."

Messages = list[dict[str, str]]

BACKWARD_REQUEST = (
    "Below is a response. Write the instruction or question that this response would answer "
    "best. Reply with the instruction only.\n\nResponse:\n{output}"
)

CURATION_REQUEST = """Review the user's instruction and the candidate answer below. Decide how \
good an example the answer is of an AI assistant responding to that instruction, using this \
5-point scale:

1: The answer is incomplete, vague, off-topic, controversial or not what was asked; or it is \
written from another person's perspective (a blog post, a forum thread) or contains promotional, \
navigation or other irrelevant text.
2: The answer addresses most of the request but not directly, for example it only outlines a \
high-level method.
3: The answer is helpful, complete and self-contained, but not written as an AI assistant would \
write it; it reads like a blog post or web page (personal experience, comments, social sharing).
4: The answer is written from an AI assistant's perspective, focused on the instruction, complete, \
clear and well organised, with minor room for improvement.
5: The answer is a perfect AI-assistant answer: focused, without irrelevant sentences, expert, \
well written, logical and engaging.

Instruction:
{instruction}

Answer:
{answer}

Write a brief reasoning first, then end with a final line of the form "Score: N" where N is 1 \
to 5."""


def backward_prompt(output: str) -> Messages:
    """Ask the backward model M_yx for the instruction that `output` answers."""
    return [{"role": "user", "content": BACKWARD_REQUEST.format(output=output)}]


def curation_prompt(instruction: str, answer: str) -> Messages:
    """Ask a scorer model to rate an (instruction, answer) candidate on the 5-point rubric."""
    return [
        {
            "role": "user",
            "content": CURATION_REQUEST.format(instruction=instruction, answer=answer),
        }
    ]


def tagged(instruction: str, tag: str | None, style: str = "sentence") -> Messages:
    """The prompt turns for an instruction marked with its source's tag (the paper's "system
    prompt"): the tag appended as a sentence, or as a system turn before the instruction."""
    user = {"role": "user", "content": instruction}
    if not tag:
        return [user]
    if style == "system":
        return [{"role": "system", "content": tag}, user]
    return [{"role": "user", "content": f"{instruction}\n\n{tag}"}]
