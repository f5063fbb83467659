"""The search syntax (SearchRequest.q) turned into terms, with nothing left for the engine to interpret.

The syntax, as knowledge.proto documents it: words match whole words, case-insensitively, and every
word must match; a word ending in `*` matches as a prefix; text in double quotes matches as a
phrase; all other punctuation separates words; an unbalanced quote is closed at the end of the
query. A word is a run of letters, digits and combining marks (Unicode categories L, N and M, and
private-use characters), the same characters SQLite's `unicode61` tokenizer keeps. Anything else
(`(`, `:`, `^`, `-`, `+`, control characters, emoji) separates words, so operator spellings such as
`NEAR(`, `OR` and `AND` arrive at the engine as ordinary quoted words.
"""

from __future__ import annotations

import unicodedata

from envoy_grpc.store.knowledge_types import Term


def is_word_character(character: str) -> bool:
    category = unicodedata.category(character)
    return category[0] in "LNM" or category == "Co"


def words(text: str) -> list[str]:
    """The words of `text`, in order."""
    found, current = [], []
    for character in text:
        if is_word_character(character):
            current.append(character)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def parse(query: str) -> list[Term]:
    """The terms of a query; an empty list when it holds no word (it then matches nothing)."""
    terms: list[Term] = []
    position, length = 0, len(query)
    while position < length:
        character = query[position]
        if character == '"':
            end = query.find('"', position + 1)
            end = length if end == -1 else end
            phrase = words(query[position + 1 : end])
            if phrase:
                terms.append(Term(tuple(phrase)))
            position = end + 1
        elif is_word_character(character):
            end = position
            while end < length and is_word_character(query[end]):
                end += 1
            prefix = end < length and query[end] == "*"
            terms.append(Term((query[position:end],), prefix))
            position = end + 1 if prefix else end
        else:
            position += 1
    return terms
