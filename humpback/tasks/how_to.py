"""A request for how to do something, paired with a segment that tells nobody how: no answer.

M_yx often asks how to make or do what its segment describes: "How do I make a film about a
precocious 17-year-old ..." for a film review, "What is the best way to provide a decision-making
platform ..." for a paper's abstract, "How do I create a community that is pro-life ..." for a
publisher's statement. A description says what something is, not how to do it. A segment that
tells how speaks to its reader or shows the way, in its own words (not in speech it quotes): a
second person; an imperative (a sentence that opens with a request verb, "do", "never" or
"always", or with a word followed by "it" or "them": "Water them deeply"); code; a list of two
items or more; "here is" or "here are"; or a word of advice (should, must, make sure, recommend,
avoid, try to, tip, helpful, the key). A how-to request (how do I / can you / should one, how can
it be done, how to, the best way to, what can be done, some tips or ideas) whose segment has none
of them is `unanswered_how_to`. Questions of what or why ("What is Squadbox?", "How does Tilda
work?", "How can it be that ...?") are not how-to requests: a description can answer them.

Measured on the judged pairs (`humpback measure`) and on human pairs, which it should not flag:
LIMA 3 of 1,000, OpenAssistant 1 of 94.
"""

import re

from humpback.tasks.answer_screen import ADDRESSED, QUOTED
from humpback.tasks.instruction_form import FUNCTION_WORDS, QUESTION_WORDS, REQUEST_VERBS

UNANSWERED_HOW_TO = "unanswered_how_to"

_HOW_TO = re.compile(
    r"\bhow (?:do|can|should|would|could|might|will) (?:i|we|you|one|people|someone|they)\b"
    r"|\bhow (?:can|could|should|would|might) (?:it|this|that|these|those|they) be\b(?! that)"
    r"|\bhow to\b"
    r"|\bwhat (?:is|are|'s|’s) (?:the |some |a few )?(?:best |good |most \w+ |easiest |right )?"
    r"(?:way|ways|tips|ideas|steps|advice|strategies|approach)\b"
    r"|\bwhat can (?:i|we|you|one) do\b|\bwhat can be done\b|\bwhat should (?:i|we|one)\b"
    r"|\b(?:any|some|few) (?:tips|ideas|advice|suggestions)\b"
    r"|\b(?:give|suggest|recommend) me (?:some |a few )?(?:ideas|tips|advice|suggestions|steps)\b",
    re.IGNORECASE,
)
_ADDRESSED = re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(ADDRESSED)))})\b", re.IGNORECASE)
_OPENING = re.compile(r"(?:^|[.!?:]\s+)([A-Z][a-z]+)(?= )(?: (it|them)\b)?", re.MULTILINE)
_NOT_VERBS = FUNCTION_WORDS | QUESTION_WORDS | set(
    "and but or yet so when if because while since although though unless until after before "
    "once as then now today here also still even".split()
)
_COMMANDS = REQUEST_VERBS | {"do", "don't", "don’t", "never", "always"}
_CODE = re.compile(r"```|`[^`\n]+`|^\s*\$ ", re.MULTILINE)
_LIST_ITEM = re.compile(r"^(?:step \d|\d{1,2}[.)]\s|[-*•]\s)", re.IGNORECASE | re.MULTILINE)
_ADVICE = re.compile(
    r"\b(?:should|shouldn't|must|make sure|recommend|avoid|try to|tips?|helpful|"
    r"it'?s best|it is best|the key|here (?:is|are))\b",
    re.IGNORECASE,
)


def asks_how_to(instruction: str) -> bool:
    """Whether the instruction asks how to do or make something, or for advice."""
    return bool(_HOW_TO.search(instruction))


def _imperative(text: str) -> bool:
    for opening in _OPENING.finditer(text):
        word, pronoun = opening.group(1).lower(), opening.group(2)
        if word in _COMMANDS or (pronoun and word not in _NOT_VERBS):
            return True
    return False


def tells_how(text: str) -> bool:
    """Whether the segment speaks to its reader or shows the way (see the module's text), in
    its own words: speech it quotes ("... you ...", an interviewee's) is not its voice."""
    text = QUOTED.sub(" ", text)
    return bool(
        _ADDRESSED.search(text)
        or _imperative(text)
        or _CODE.search(text)
        or _ADVICE.search(text)
        or len(_LIST_ITEM.findall(text)) >= 2
    )


def unanswered_how_to(instruction: str, text: str) -> bool:
    """A how-to request whose segment tells nobody how."""
    return asks_how_to(instruction) and not tells_how(text)
