"""Tags: the sentence that marks an instruction's source (the paper's "system prompt")."""

from humpback.inference.backend import Messages


def tagged(instruction: str, tag: str | None, style: str = "sentence") -> Messages:
    """The prompt turns for an instruction marked with its source's tag: the tag appended as a
    sentence (the paper), or as a system turn before the instruction."""
    user = {"role": "user", "content": instruction}
    if not tag:
        return [user]
    if style == "system":
        return [{"role": "system", "content": tag}, user]
    return [{"role": "user", "content": f"{instruction}\n\n{tag}"}]
