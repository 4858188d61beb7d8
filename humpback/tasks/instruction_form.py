"""Is a generated instruction an instruction? A check of form, with the reason when it is not.

A well-formed instruction is a request or a question (a "?" somewhere, a sentence that opens
with a question word, or a clause that opens with a request verb or a phrase such as "I need"),
does not echo the backward prompt, does not talk about "the response" or "the text" it was
written from (or what "you mentioned": there is no turn before it), does not copy that text,
does not repeat itself (a small model's loop) and names something: "How do you do it?" could
be asked of any text (3 of 1,269 human instructions name nothing: "Who are you?" twice, "Add
things to the list."). English-centred: an instruction in another language passes only with a
question mark. Human instructions pass about nine times in ten (LIMA 90.8%, OpenAssistant
91.5%).
"""

import re

_WORD = re.compile(r"[\w']+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n]\s*)\s*([A-Za-z']+)")
_CLAUSE_START = re.compile(r"(?:^|[.!?:;,\n\-–—(]\s*)\s*([A-Za-z']+(?:\s+[A-Za-z']+)?)")
QUESTION_WORDS = set(
    "what how why when where who whom whose which is are was were do does did can could would "
    "should will shall may might has have am isn't aren't doesn't don't didn't".split()
)
REQUEST_VERBS = set(
    "write explain describe give list tell provide create summarize summarise compare suggest "
    "help make generate find name show translate rewrite compose draft design plan recommend "
    "outline define identify calculate solve convert classify analyze analyse discuss imagine "
    "pretend act implement build develop teach introduce share offer propose estimate predict "
    "evaluate review correct fix edit improve complete continue choose pick sort rank organize "
    "organise prepare construct derive prove determine extract paraphrase brainstorm let please "
    "use consider assume read answer add remove change search check debug refactor draw "
    "illustrate elaborate expand clarify detail highlight state argue justify critique rate "
    "simplify modify update decide craft formulate devise invent think walk guide play "
    "say put turn format fill count compute recite reply respond note learn try "
    "get go look keep take start stop avoid remember mention cite".split()
)
REQUEST_OPENINGS = (
    "i want", "i need", "i would like", "i'd like", "i'm looking", "i am looking", "i wish",
    "i'm trying", "i am trying", "i'm planning", "i am planning", "i wonder", "i was wondering",
    "help me", "show me", "teach me", "tell me", "give me",
)  # fmt: skip
_ABOUT_SOURCE = re.compile(
    r"\b(?:the|this|that|above|below|following|given|provided|previous)\s+"
    r"(?:response|answer|text|passage|article|paragraph|excerpt|document|instruction|reply)\b"
    r"|\bin\s+\d+\s+paragraphs\b"
    r"|\byou(?:'ve|\s+have)?\s+(?:just\s+)?(?:mentioned|said|described|listed)\b",  # no turn before
    re.IGNORECASE,
)
# words that name nothing on their own: pronouns, articles, auxiliaries, prepositions, fillers
FUNCTION_WORDS = set(
    "i me my mine myself you your yours yourself we us our ours they them their theirs he him "
    "his she her hers it its itself this that these those there here a an the some any all each "
    "every no not and or but if then so than as of to in on at by for with about from into onto "
    "over under up down out off be been being am is are was were do does did doing done have "
    "has had having can could will would shall should may might must one ones thing things "
    "something anything everything nothing way ways stuff lot lots much many more most very "
    "really just also too it's that's what's i'm i've i'd you're we're they're".split()
)
_NAMELESS = QUESTION_WORDS | REQUEST_VERBS | FUNCTION_WORDS
COPY_NGRAM = 4  # an instruction copies its text when most of its word 4-grams are in it
COPY_MIN_WORDS = 12
REPEAT_NGRAM = 3  # an instruction repeats itself when a quarter of its word 3-grams are repeats
REPEAT_SHARE = 0.25


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def is_request(instruction: str) -> bool:
    """A question, a sentence opening with a question word, or a clause opening with a request
    verb or phrase."""
    if "?" in instruction or "？" in instruction:
        return True
    if any(word.lower() in QUESTION_WORDS for word in _SENTENCE_START.findall(instruction)):
        return True
    for opening in _CLAUSE_START.findall(instruction):
        words = opening.lower().split()
        if words[0] in REQUEST_VERBS:
            return True
        if " ".join(words).startswith(REQUEST_OPENINGS):
            return True
    return any(opening in instruction.lower() for opening in REQUEST_OPENINGS)


def names_something(instruction: str) -> bool:
    """A word of two letters or more that is no question word, request verb or function word."""
    return any(len(w) > 1 and w not in _NAMELESS for w in _words(instruction))


def copies(instruction: str, text: str) -> bool:
    """Most of the instruction's word 4-grams occur in the text, and it is longer than a title
    (a page's own heading, "How to register to vote in Ohio?", is a fine instruction)."""
    grams = _ngrams(_words(instruction), COPY_NGRAM)
    if len(grams) < COPY_MIN_WORDS - COPY_NGRAM + 1 or not text:
        return False
    return len(grams & _ngrams(_words(text), COPY_NGRAM)) / len(grams) > 0.5


def repeats(instruction: str) -> bool:
    """A quarter of the instruction's word 3-grams (at least 10 of them) occur earlier in it:
    none of the 1,269 human instructions of the LIMA, OpenAssistant and Self-Instruct seeds do."""
    words = _words(instruction)
    total = len(words) - REPEAT_NGRAM + 1
    if total < 10:
        return False
    return 1 - len(_ngrams(words, REPEAT_NGRAM)) / total > REPEAT_SHARE


def form_problem(instruction: str, text: str = "", prompt: str = "") -> str | None:
    """Why `instruction` (written for `text` when asked with `prompt`) is not a well-formed
    instruction, or None."""
    if not instruction.strip():
        return "empty_instruction"
    if _ngrams(_words(instruction), 5) & _ngrams(_words(prompt), 5):
        return "echoes_prompt"
    if _ABOUT_SOURCE.search(instruction):
        return "about_the_response"
    if copies(instruction, text):
        return "copies_text"
    if repeats(instruction):
        return "repetitive"
    if not is_request(instruction):
        return "not_a_request"
    if not names_something(instruction):
        return "names_nothing"
    return None
