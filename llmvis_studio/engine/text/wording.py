"""The wording rules of prompt routing: what a prompt asks for in so many words.

The classifier in router.py weighs meaning; these regular expressions pull out the parameters (a scale, the
content to generate) and settle the few close calls the classifier gets wrong (remove vs. add, text vs. objects).
"""

from __future__ import annotations

import re
from typing import Optional

# ---------------------------------------------------------------- content and parameters

_SCALE = re.compile(
    r"(?:\bx|×)\s?([2348])\b|\b([2348])\s?(?:x|×)(?!\w)|\b(twice|double|two times|"
    r"four times|quadruple|three times|triple|eight times)\b",
    re.IGNORECASE,
)
_SCALE_WORDS = {
    "twice": 2,
    "double": 2,
    "two times": 2,
    "four times": 4,
    "quadruple": 4,
    "three times": 3,
    "triple": 3,
    "eight times": 8,
}
_POLITE = re.compile(
    r"^(?:(?:please|pls|can you|could you|would you|i want(?: you)? to|i'd like(?: you)? to|i would like(?: you)? to|"
    r"let's|now|how about|what about|maybe)\s+)+",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"^(?:fill(?:\s+(?:in|up))?(?:\s+(?:this|it|that|the|these)(?:\s+[\w-]+){0,2})?\s+with|"
    r"replace\s+.+?\s+with|swap\s+.+?\s+(?:for|with)|"
    r"turn\s+(?:this|it|the\s+\w+)\s+into|change\s+.+?\s+(?:to|into)|add|ad|put|place|insert|draw|paint|"
    r"generate|create|make|grow|show|give\s+(?:it|me)|there should be|i(?:'d| would) (?:like|love)|i want|"
    r"can there be)\s+",
    re.IGNORECASE,
)
# "remove the bench and add a flower bed": the content is what comes after the removal.
_REMOVE_THEN = re.compile(
    r"^.*?\b(?:and|then|,)\s+(?=(?:add|ad|put|place|insert|draw|paint|generate|create|make|"
    r"grow|fill)\b)",
    re.IGNORECASE,
)
_WHERE = re.compile(
    r"\s+(?:here|there|in (?:the )?(?:masked|selected) (?:area|region|part)|in (?:the )?(?:mask|selection|hole|gap)|"
    r"where the (?:mask|selection|hole) is|inside the (?:mask|selection)|in this (?:area|spot|region)|instead)\b",
    re.IGNORECASE,
)


def requested_scale(prompt: str) -> Optional[int]:
    match = _SCALE.search(prompt)
    if not match:
        return None
    if match.group(3):
        return _SCALE_WORDS[match.group(3).lower()]
    return int(match.group(1) or match.group(2))


def extract_content(prompt: str) -> str:
    """'fill this with clouds' → 'clouds'; 'add a red boat here, please' → 'a red boat'."""
    text = prompt.strip().strip(".!?").strip()
    text = re.sub(r"[,;]?\s*(?:please|pls|thanks|thank you)\s*$", "", text, flags=re.IGNORECASE).strip()
    text = _REMOVE_THEN.sub("", text, count=1)
    text = _POLITE.sub("", text, count=1)
    text = _REQUEST.sub("", text, count=1)
    text = _WHERE.sub("", text).strip(" ,.")
    return text or prompt.strip()


# ---------------------------------------------------------------- wording rules
# The classifier weighs meaning; a few explicit words settle the close calls it gets wrong:
# a request to take something away is not a request for new content (inpaint, not generate),
# unless it also names what goes in its place; and what is taken away is text (captions, date
# stamps, watermarks) → detect-text, whose mask the editor then fills (then: inpaint).

_REMOVE = re.compile(
    r"\b(?:remove|removing|erase|erasing|delete|rid of|take\s+(?:\w+\s+){0,3}?(?:out|away|off)|wipe|eliminate|"
    r"hide|clear\s+(?:\w+\s+){0,3}?(?:away|out|off)|clean\s+(?:\w+\s+){0,3}?off|disappear|vanish)\b",
    re.IGNORECASE,
)
_NEW_CONTENT = re.compile(
    r"\b(?:with|replace|swap|instead|put|add|insert|place|draw|paint|generate|create)\b", re.IGNORECASE
)
_TEXT_THINGS = re.compile(
    r"\b(?:text|texts|caption|captions|subtitles?|watermarks?|date|dates|(?:date|time)\s?stamps?|timestamps?|"
    r"writing|handwriting|words|letters|lettering|numbers|digits|copyright|url|web\s?site address)\b",
    re.IGNORECASE,
)
_BACKGROUND = re.compile(r"\b(?:background|backdrop|bg)\b", re.IGNORECASE)
_IN_BACKGROUND = re.compile(
    r"\w+\s+(?:in|from|at|on)\s+(?:the\s+)?(?:background|back|backdrop|distance)\b", re.IGNORECASE
)


def asks_to_remove(prompt: str) -> bool:
    return bool(_REMOVE.search(prompt))


def names_new_content(prompt: str) -> bool:
    return bool(_NEW_CONTENT.search(prompt))


def names_text(prompt: str) -> bool:
    return bool(_TEXT_THINGS.search(prompt))


def rule_op(prompt: str, op: str) -> Optional[str]:
    """The op the wording rules put in place of the classifier's `op`, or None to keep it."""
    removing = asks_to_remove(prompt)
    if op in ("inpaint", "generate") and removing and names_text(prompt) and not names_new_content(prompt):
        return "detect-text"
    if op == "generate" and removing and not names_new_content(prompt):
        return "remove-background" if _BACKGROUND.search(prompt) and not _IN_BACKGROUND.search(prompt) else "inpaint"
    if op == "remove-background" and removing and _IN_BACKGROUND.search(prompt):
        return "inpaint"  # "remove the person in the background": the background is where, not what
    return None


def follow_up(prompt: str, op: str) -> Optional[str]:
    """detect-text only finds the text; asked to remove it, the editor fills the mask next."""
    return "inpaint" if op == "detect-text" and asks_to_remove(prompt) else None
