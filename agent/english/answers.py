"""Question-answer turns: a VisDial/ChatIR 'question? answer' round, and an answer to picseek's own question.

A yes about a thing adds it, a no excludes it (or the value asked about); an answered attribute sets it; "I don't
know" changes nothing. An answer to picseek's question may be an option, words, yes/no, "none of these"; anything
else the user says instead is read as an ordinary message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from picseek.agent.english import lexicon as L
from picseek.agent.english.cues import HEDGES, LEADING_HEDGE, NEGATIONS, SEEING_WORDS, UNSEEN_WORDS, alternation
from picseek.agent.english.kinds import of_kind
from picseek.agent.english.plurals import same_thing, singular_word
from picseek.agent.english.reading import Reading, Thing, Value, find_phrase, read
from picseek.agent.state import Question, SearchState, Subject, plural, singular


@dataclass
class Update:
    """The result of one message: the new state, and what the reply should say about it."""

    state: SearchState
    unknown: list[str] = field(default_factory=list)  # words English does not know ("asdkjh")
    reset: bool = False  # the message started a new search
    known: frozenset[str] = frozenset()  # nouns (singular) the description's words named before this message
    renamed: list[tuple[str, str]] = field(default_factory=list)  # corrections: (old noun, new noun as said)
    said: str | None = None  # an answer said again in full ('a lot' -> 'a lot of birds'), as the text shows it


SUBJECT_SLOTS = ("color", "size", "count", "adjective")
SETTING_SLOTS = ("time", "season", "weather", "place")
_QUESTION_START = re.compile(
    r"^(?:is|are|was|were|do|does|did|can|could|any|has|have|how|what|which|where|who|whose|will|would|"
    r"should|there|anything|anyone|anybody)\b"
)
_WH = re.compile(r"^(?:how|what|which|where|who|whose)\b")


def strip_phrase(text: str, phrases) -> tuple[str, bool]:
    """The text without the first of these phrases found, and whether one was."""
    m = find_phrase(text, phrases)
    if m is None:
        return text, False
    return (text[: m.start()] + " " + text[m.end() :]).strip(" ,.:;!-"), True


def _only(text: str, phrases) -> bool:
    """Whether the message says nothing but one of these phrases (and filler)."""
    t = " ".join(re.sub(r"[^\w' ]", " ", text).split())
    return t in phrases or " ".join(w for w in t.split() if w not in _CHATTER) in phrases


_CHATTER = frozenset("please pls thanks sorry um uh hmm well ok okay tbh lol honestly really sadly so".split())


class Answers:
    """The question-answer half of the reader. It reads what an answer says and hands the edit to the reader
    (`Tracker`) through its public steps: statement, apply, exclude, setting."""

    def __init__(self, reader):
        self.reader = reader

    def qa(self, up: Update, question: str, answer: str) -> None:
        """A VisDial/ChatIR turn: 'is there grass? yes', 'any people, no', 'what color is the car? red'."""
        polarity, rest = _polarity(answer)
        if polarity == "unknown":
            return
        q = read(question)
        q.known = up.known
        st = up.state
        wh = bool(_WH.match(question))
        things = [t for t in q.things if not t.ref]
        focus = things[-1].noun if things else None
        if polarity == "yes" or (polarity is None and not wh):
            if not wh:
                self.reader.apply(st, q)
            if rest:
                self.reader.statement(up, rest, focus=focus or st.focus, refine=True)
            return
        if polarity == "no":
            # "is it a red car? no, blue": the car is there, not red; "is there a person?" asks only whether
            after = read(rest) if rest else None
            if after is not None and after.values and (wh or any(v.slot != "word" for v in q.values)):
                self.reader.apply(st, _positive(q)) if not wh else None
                self.reader.statement(up, rest, focus=focus or st.focus, refine=True)
                return
            self._deny(st, q)
            if after is not None and not _ONLY_WHAT_IT_HAS.match(rest) and not after.about_picture:
                self.reader.statement(up, rest, focus=st.focus, refine=True)  # "no, at night": the no, then a fact
            return
        # a value: "red", "two", "on the couch", "a frisbee"
        if focus and st.find(focus) is None:
            self.reader.apply(st, _positive(q, values=False))
        self.reader.statement(up, answer, focus=focus or st.focus, refine=True)

    def _deny(self, st: SearchState, q: Reading) -> None:
        """A 'no' to a yes/no question: exclude the value it asked about, else the thing."""
        values = [v for v in q.values if v.slot != "word"]
        if values:
            for v in values:
                if v.slot in SETTING_SLOTS:
                    self.reader.setting(st, Value(v.slot, v.value, v.i, True, said=v.said))
                else:
                    t = q.thing_at(q.owner(v))
                    subject = st.find(t.noun) if t is not None and not t.ref else st.focused()
                    if subject is None and t is not None and not t.ref:
                        subject = Subject(noun=t.noun, plural=t.plural)
                    if subject is not None:
                        ex = Subject(noun=subject.noun, plural=subject.plural, excluded=True)
                        set_attrs(ex, [Value(v.slot, v.value, v.i)])
                        st.subjects.append(ex)
            return
        for t in q.things:
            if not t.ref:
                self.reader.exclude(st, t, [])

    # --- answers to picseek's own question -------------------------------------------------------

    def answer(self, up: Update, text: str, asked: Question) -> None:
        """A message after picseek's question: an answer to it, or anything else the user says instead."""
        if asked.noun:  # "How many wine glasses?" is about the description's "wine glass"
            words = asked.noun.split()
            found = up.state.find(asked.noun) or up.state.find(" ".join([*words[:-1], singular_word(words[-1])]))
            found = found or next((s for s in up.state.subjects if plural(s.noun) == asked.noun), None)
            if found is not None:
                asked = asked.model_copy(update={"noun": found.noun})
        if _only(text.strip(" ,.!").lower(), L.UNKNOWN):
            return  # "i can't see it well": no answer, before "well" is taken for a hedge
        text = _TRAILING_HEDGE.sub("", text).strip(" ,.!") or text  # "white of course", "none of those really"
        if asked.kind == "attribute":
            text = LEADING_HEDGE.sub("", text).strip(" ,.!") or text  # "kind of reddish"
            text = _NOT_THOSE.sub("", text) or text  # "blue i think, not those": the value, none of the options
            text = re.sub(r"\b([a-z]+)-?ish\b", _ish, text)  # "blue-ish", "white-ish"
            # "on the small side": a size, said as no place
            text = re.sub(r"\bon\s+the\s+(\w+)\s+side\b", lambda m: m.group(1) if m.group(1) in L.SIZES else m[0], text)
            if asked.slot == "count":  # "like 5", "around 5"; "just the one", "only one" is one
                text = APPROXIMATELY.sub("", text)
                text = re.sub(r"^(?:(?:just|only)\s+)?(?:the\s+)?one$", "1", text)  # the number, not "the one"
        if asked.kind == "presence" and _polarity(text)[0] is None and _not_seen(text, asked.noun):
            text = "no"  # "i don't think there is", "doesn't look like it", "not that i could see"
        if asked.kind == "presence" and asked.noun:
            text = _count_of_asked(text, asked.noun)
            # "no dog, but a cat", "no grass but there are bushes": the no, then what there is instead
            said_no = rf"^no\s+{_said_as(asked.noun)}\b[\s,]*(?=\S)"
            text = re.sub(said_no, "no, ", text, flags=re.I)
            many = _many_of_asked(text, asked.noun)  # "a lot", "yes, a few flying by": that many of them
            if many != text:
                text = up.said = many
            text = _SOME_OF_IT.sub("yes", text)  # "a little bit", "some": some of it is there
            if all(w in L.COLORS or w in L.SIZES or w in L.SHADES or w == "and" for w in text.lower().split()):
                text = f"a {text} {asked.noun}"  # "small", "red" to "is there a tomato?": a small tomato
        if asked.kind == "presence" and asked.noun and re.search(r"\bones?\b", text):
            # "a small one", "yes, a red one": the one asked about
            text = re.sub(r"\bones\b", plural(asked.noun), re.sub(r"(?<!\bno )\bone\b", asked.noun, text))
        if asked.kind == "presence" and not asked.noun and asked.options and _ALL.fullmatch(text.strip(" .!")):
            text = " and ".join(f"a {o}" for o in asked.options)  # "all of them": every option is in it
        if asked.kind == "presence" and not asked.noun and asked.options:
            text = _options_named(text, asked.options)
        if _only(text, L.UNKNOWN):
            return
        # "nope, none" to "Is there a tree?" is a no about the tree; to options, none of them
        none, rest = _none_of_these(text) if not (asked.kind == "presence" and asked.noun) else (False, text)
        if none and asked.kind == "presence" and not asked.noun:
            self._exclude_options(up.state, asked)  # "What else — a car or a boat?" "none of these": neither
        if none and asked.kind == "setting" and asked.slot == "place":
            for option in asked.options:  # "Where — on water or on grass?" "none of those": neither place
                word = singular(option.split()[-1].lower())
                if word not in up.state.negatives:
                    up.state.negatives.append(word)
        if none and not rest:
            return
        text = rest if none else text
        m = FIRST_N.fullmatch(text)
        if m and asked.options:  # "the first two": those options, named
            n = L.NUMBERS.get(m.group(2)) or int(m.group(2))
            picked = asked.options[:n] if m.group(1) == "first" else asked.options[-n:]
            text = " and ".join(f"a {o}" if asked.kind == "presence" else o for o in picked)
        m = re.fullmatch(r"(?:the\s+)?(first|second|third|fourth|last|1|2|3|4)(?:\s+(?:one|option))?", text)
        if m and asked.options:
            i = L.ORDINALS.get(m.group(1)) or int(m.group(1))
            if i <= len(asked.options):  # "the second one" picks an option; "4" of two options is no answer
                text = asked.options[i - 1 if i > 0 else -1]
        polarity, rest = _polarity(text)
        if (
            asked.kind == "presence"
            and not asked.noun
            and (
                polarity == "no"
                and (not rest or _none_of_these(rest)[0] or re.match(r"(?:just|only)\b", rest))
                or _only(text, ("nothing else",))
            )
        ):
            self._exclude_options(up.state, asked)
            after = _none_of_these(rest)[1] if rest else ""
            if after:  # "no, none of them, just grass": what follows is said about the picture
                self.reader.statement(up, after, refine=True)
            return
        if asked.kind == "presence" and asked.noun and _names_what_is_there(up.state, rest, asked.noun, polarity):
            return  # "yes, the rider", "no, just the man" to "is there a person?": the man it has already
        if asked.kind == "presence" and asked.noun and polarity in ("yes", "no"):
            question = f"is there a {asked.noun}"
            more = re.sub(r"^(?:but|though|however|and)\b[\s,]*|[\s,]+though$", "", rest).strip() if rest else ""
            if polarity == "no" and more and more != rest:  # "no but there's a cat": the no, then a new fact
                self.qa(up, question, "no")
                self.reader.statement(up, more, refine=True)
                return
            if polarity == "yes" and rest and _names_one_of_its_kind(rest, asked.noun):
                self.reader.statement(up, rest, refine=True)  # "yes, a zookeeper" to "is there a person?": him
                return
            names_it = re.search(rf"\b(?:{_said_as(asked.noun)}|ones?|them)\b", rest or "")
            counted = _count_of_asked(rest, asked.noun) if rest else ""
            if polarity == "no" and names_it and (counted != rest or re.search(r"\d", rest)):
                self.reader.statement(up, counted, refine=True)  # "no, two of them", "no, 2 dogs": more than one
                return
            if polarity == "no" and rest and _THERE_IS_INSTEAD.match(rest) and not names_it:
                self.qa(up, question, "no")  # "nope. there's a cow though", "no, a dog"
                self.reader.statement(up, re.sub(r"[\s,]+though$", "", rest), refine=True)
                return
            self.qa(up, question, text)
            return
        if polarity == "unknown":
            return
        focus = asked.noun if asked.kind == "attribute" else None
        m = _VALUE_WITH.match(text) if asked.kind == "attribute" and asked.slot in ("color", "size") else None
        colours = m is not None and all(w in L.COLORS or w in L.SHADES for w in m["rest"].split()[1:])
        if m and colours:
            text = f"{m['value']} and {m['rest'].split(None, 1)[1]}"  # "black with white": black and white
        elif m and all(w in L.COLORS or w in L.SHADES or w in L.SIZES or w == "and" for w in m["value"].split()):
            # "white with black stripes", "red and white, with a black roof": the value, then more about the thing
            self.answer(up, m["value"], asked)
            self.reader.statement(up, m["rest"], focus=asked.noun, refine=True)
            return
        if asked.kind == "attribute" and asked.noun and up.state.find(asked.noun) is None:
            up.state.subjects.append(Subject(noun=asked.noun))
        # Naming the thing asked about (or an option) answers; a message about something else may start anew.
        expected = {singular(o.split()[-1]) for o in asked.options if o}
        expected |= {singular(asked.noun)} if asked.noun else set()
        # a short answer to "what else is in it?" names something else in it ("a cat"), never a new search
        named = asked.kind == "presence" and not asked.noun and len(text.split()) <= 5 and not _ASKS.search(text)
        named = named and not up.unknown  # "zxqv plorb" is no thing in the picture: it may start anew
        # a short answer to "which boat — red, white or blue?" is about the boat, whatever word it uses
        named = named or asked.kind == "attribute" and len(text.split()) <= 3 and not (_ASKS.search(text) or up.unknown)
        # "coffee", "bushes mostly" to "is there a drink?": said about the picture asked about, not a new search
        named = named or (
            asked.kind == "presence"
            and bool(asked.noun)
            and len(text.split()) <= 3
            and not (_ASKS.search(text) or _INSTEAD.search(text) or up.unknown)
        )
        named = named or up.said is not None  # "a few" said again as "a few fishing boats": about the boats asked
        self.reader.statement(up, text, focus=focus, refine=none or named, expected=frozenset(expected))

    def _exclude_options(self, st: SearchState, asked: Question) -> None:
        for option in asked.options:
            self.reader.exclude(st, Thing(0, singular(option.split()[-1])), [])


_SOME_OF_IT = re.compile(
    r"^(?:(?:a\s+)?(?:little|tiny|small)\s+bit|a\s+(?:little|few|couple)|some)(?:\s+of\s+(?:it|them))?$", re.I
)
_ONLY_WHAT_IT_HAS = re.compile(r"^(?:(?:it'?s|there'?s|there\s+(?:is|are))\s+)?(?:just|only)\b")
_INSTEAD = re.compile(r"\b(?:instead|rather|what\s+about|how\s+about)\b")
_THERE_IS_INSTEAD = re.compile(r"^(?:there(?:'s| is| are)|i see|an?|some|two|three|\d+)\s")
_HOW_MANY = re.compile(
    r"(?:there(?:'s|\s+is|\s+are|\s+were|\s+was)\s+|i\s+(?:see|saw|count|counted)\s+)?(?P<n>\w+)(?:\s+of\s+them)?",
    re.I,
)


def _said_as(noun: str) -> str:
    """A pattern of the noun said either way: 'dog' or 'dogs'."""
    one = singular(noun)
    return f"(?:{re.escape(one)}|{re.escape(plural(one))})"


_WHERE = rf"(?:{alternation(L.LOCATIVE | L.PATH_PREPOSITIONS | {'next'})})"  # "a few on the wing", "... next to it"
# how many, without a number: "a lot" (said "a lot of X"), "several" (said "several X"); the lexicon's words
_MANY_OF = frozenset(p[: -len(" of")] for p in L.QUANTITY_PHRASES if p.endswith(" of"))
_MANY_WORDS = sorted(_MANY_OF | {p for p in L.QUANTITY_PHRASES if not p.endswith(" of")} | L.QUANTIFIERS, key=len)
_MANY = re.compile(
    rf"^(?:(?:{alternation(L.YES)})[\s,]+)?(?:there\s+(?:are|were)\s+|i\s+(?:see|saw|count)\s+)?"
    r"(?P<q>" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in reversed(_MANY_WORDS)) + ")"
    r"(?:\s+of\s+them)?(?P<rest>\s+.+)?$",
    re.I,
)


def _many_of_asked(text: str, noun: str) -> str:
    """'a lot', 'yes, several', 'a few flying by' to "Is there a bird?": that many birds ('a lot of birds'), and what
    they do or where they are after them."""
    m = _MANY.fullmatch(text.strip(" .!"))
    if not m:
        return text
    rest = (m.group("rest") or "").strip()
    if rest and re.search(rf"\b{_said_as(noun.split()[-1])}\b", rest, re.I):
        return text  # "a few sleeping dogs": the dogs said in full already
    if rest and not re.match(r"^(?:\w+(?:ing|ed)|" + _WHERE + r")\b", rest, re.I):
        return text  # "a few trees", "a lot of grass": said in full already
    q = " ".join(m.group("q").lower().split())
    of = " of" if q in _MANY_OF else ""
    return " ".join(f"{q}{of} {plural(singular(noun))} {rest}".split())


def _names_what_is_there(st: SearchState, text: str, noun: str, polarity: str | None) -> bool:
    """Whether an answer to "is there a person?" points at the thing of that kind the search already has: 'yes, the
    rider', 'no, just the man', 'the man on the horse' (nothing to add, and no person to exclude)."""
    if polarity not in ("yes", "no", None) or not text:
        return False
    text = re.sub(r"^(?:just|only)\s+", "", text.strip(" .!,")) if polarity == "no" else text.strip(" .!,")
    if polarity == "no" and not re.match(r"^(?:the|that|this|his|her|their)\s", text):
        return False  # "no, a dog": a no, then something else
    r = read(text)
    things = [t for t in r.things if not t.ref]
    others_there = all(st.find(t.noun) is not None for t in things[1:])  # "the man on the horse"
    placed = [v for v in r.values if v.slot == "place" and st.find(str(v.value).split()[-1]) is not None]
    said_more = any(v.slot != "word" and v not in placed for v in r.values)  # "the man on the horse": placed only
    if not things or not others_there or not things[0].definite or said_more:
        return False  # "yes, the man and a child", "yes the dog is brown": more than the one already there
    first = things[0].noun
    if not (of_kind(noun, first) or same_thing(first, singular(noun))):
        return False  # "no, just the horse" to "is there a dog?" is a no
    if st.find(first) is not None:
        return True  # "the man on the horse": the man the search has
    # "yes, the rider": the one of that kind the search has, said another way (not "the woman next to him")
    return len(text.split()) <= 2 and any(of_kind(noun, s.noun) for s in st.required)


def _names_one_of_its_kind(text: str, noun: str) -> bool:
    """Whether a yes goes on to name a thing of the kind asked about ('yes, a zookeeper' to "is there a person?",
    'yes, a puppy' to "is there an animal?"): that thing is the answer, not one more."""
    return any(not t.ref and of_kind(noun, t.noun) for t in read(text).things)


def _not_seen(text: str, noun: str | None) -> bool:
    """Whether an answer says no by negating that it is there or seen, with no other word: "i don't think there is",
    "doesn't look like it", "there doesn't seem to be one", "not that i could see" (where the words between may be
    misspelt); "i can't see the photo" is about the photo. Asked only of an answer `_polarity` reads as no yes, no
    or "don't know" ("i can't tell")."""
    t = text.strip(" .!").lower()
    words = re.findall(r"[\w']+", t)
    if re.search(r"\bno[\s-]+one\b|\bnobody\b", t) or noun and re.search(rf"\bno\s+{_said_as(noun)}\b", t):
        return False  # "no one is in it" says there is no person; "no trees" is read as said
    if re.match(r"not\s+that\s+i\b", t) and len(words) <= 6 and SEEING_WORDS & set(words):
        return True  # "not that i coudl see": the words between may be misspelt
    asked = {singular(noun.split()[-1].lower()), *(noun.lower().split())} if noun else set()
    negated = {w for w in words if w in NEGATIONS or w.endswith("n't")}
    return bool(negated) and all(w in negated or w in UNSEEN_WORDS or singular(w) in asked for w in words)


def _count_of_asked(text: str, noun: str) -> str:
    """'there are 2', 'two of them' to "Is there a dog?": that many of the dog asked about ('2 dogs'), never a count
    of the description's own thing."""
    m = _HOW_MANY.fullmatch(APPROXIMATELY.sub("", text.strip(" .!")))
    word = m and m.group("n").lower()
    if not word or not (word.isdigit() or word in L.NUMBERS):
        return text
    return f"{word} {plural(noun)}" if (int(word) if word.isdigit() else L.NUMBERS[word]) != 1 else f"a {noun}"


_NOT_THOSE = re.compile(r"[\s,]+(?:but\s+)?(?:not|none\s+of)\s+(?:any\s+of\s+)?(?:those|these|them)(?:\s+ones)?$", re.I)
_LISTED = re.compile(r"\s*(?:,|\+|&|\b(?:and|plus|also|as\s+well\s+as)\b)[\s,]*", re.I)
_DETERMINER = re.compile(r"^(?:a|an|the|some)\s+", re.I)


_VALUE_WITH = re.compile(r"^(?P<value>[a-z]+(?:\s+[a-z]+){0,3}?)[\s,]+(?P<rest>with\s.+)$", re.I)


def _options_named(text: str, options: list[str]) -> str:
    """'flag + car', 'flag, car', 'cat and also bench' to "what else — a flag, a car or a lamp?": those options,
    said as 'a flag and a car' (a list of the bare nouns is no description of one thing)."""
    text = text.strip(" .!")
    joins = [j.strip(" ,").lower() for j in _LISTED.findall(text)]
    if "and" in joins and all(j in ("and", "") for j in joins):
        return text  # "a cat, a bench and a lamp": a list as English says it, kept as said
    names = {singular(o.split()[-1].lower()) for o in options}
    parts = [_DETERMINER.sub("", p.strip()) for p in _LISTED.split(text)]
    parts = [p for p in parts if p]
    if len(parts) < 2 or not all(singular(p.lower()) in names for p in parts):
        return text
    return " and ".join(p if singular(p.lower()) != p.lower() else f"a {p}" for p in parts)


def _ish(m: re.Match) -> str:
    """'white-ish', 'blue-ish', 'reddish': the colour word the lexicon knows ('whiteish' is none)."""
    word = m.group(1)
    for w in (f"{word}ish", f"{word[:-1]}ish", word, word + "e"):
        if w in L.COLORS:
            return w
    return m.group(0)


def split_qa(text: str) -> tuple[str, str] | None:
    """'is there grass? yes' / 'any people, no' -> (question, answer); None for a plain message."""
    if "?" in text:
        q, _, a = text.rpartition("?")
        a = a.strip(" ,.!")
        if a and _QUESTION_START.match(q.strip()):
            return q.strip(), a
        return None
    if "," in text and _QUESTION_START.match(text):
        q, _, a = text.rpartition(",")
        a = a.strip(" .!")
        if a and (len(a.split()) <= 4 or _polarity(a)[0] is not None):
            return q.strip(), a
    return None


_NONE = re.compile(
    r"^(?:(?:no|nope|nah)[\s,]+)?(?:none\s+of\s+(?:these|those|them|the\s+(?:above|two|three|four|options))|neither(?:\s+of\s+(?:them|those|these))?|"
    r"(?:i\s+)?(?:don'?t|do\s+not|didn'?t|did\s+not|can'?t|cannot)\s+see\s+any(?:\s+of\s+(?:them|those|these))?|none|"
    r"not\s+(?:any\s+of\s+)?(?:those|these|them)|something\s+else|another\s+one|" + alternation(L.NONE_OF_THESE) + r")"
    r"(?:\s*$|\s*[,.;:!-]+\s*(?P<rest>.*)$|\s+(?P<said>(?:it|it's|its|they|they're|theyre|there|there's|theres|just|only|"
    r"but|more|i)\b.*)$)"  # "none of those its green": what follows says what it is
)


def _none_of_these(text: str) -> tuple[bool, str]:
    """'none of these' / 'neither, it's blue' -> (True, what follows); 'none that are brown' is no such answer."""
    m = _NONE.match(text.strip())
    return (True, (m.group("rest") or m.group("said") or "").strip()) if m else (False, text)


# "the first two", "the last 2 options": options picked by where they stand in the question
FIRST_N = re.compile(r"(?:the\s+)?(first|last)\s+(two|three|2|3)(?:\s+(?:ones|options))?", re.I)
# "like 5", "around 5" answering "how many?": the number, said loosely
APPROXIMATELY = re.compile(r"^(?:like|about|around|roughly|approximately|maybe)\s+(?=\w)", re.I)
_ALL = re.compile(r"(?:yes[\s,]+)?(?:all\s+of\s+(?:them|those|these)|all\s+(?:three|four|of\s+the\s+above)|both|all)")
_ASKS = re.compile(r"\b(?:show|find|search|look|let'?s|i\s+want|i'?d\s+like)\b")
_TRAILING_HEDGE = re.compile(r"(?:[\s,]+(?:" + alternation(HEDGES) + r"))+[\s.!]*$")


def _polarity(answer: str) -> tuple[str | None, str]:
    """'yes' / 'no' / 'unknown' / None (a value), and what follows the yes or no ('yes, two of them')."""
    a = answer.strip(" .!,").lower()
    if not any(a in ws or _only(a, ws) for ws in (L.UNKNOWN, L.YES, L.NO)):  # "i think so" is a yes as it is
        a = LEADING_HEDGE.sub("", a).strip(" .!,") or a  # "definitely not" is a no, "i think there is" a yes
    if a == "not":
        return "no", ""
    if _only(a, L.UNKNOWN):
        return "unknown", ""
    if _only(a, L.YES):
        return "yes", ""
    if _only(a, L.NO):
        return "no", ""
    for word, phrases in (("no", L.NO), ("yes", L.YES)):
        for p in sorted(phrases, key=len, reverse=True):
            m = re.match(re.escape(p) + r"(?:\b|$)[\s,.!:;-]*", a)
            if m:
                rest = a[m.end() :].strip()
                if _only(rest, L.YES if word == "yes" else L.NO):  # "yeah there is", "there's one yeah"
                    rest = ""
                if rest and " " in p and not re.match(r"^[,.;:!-]", a[len(p) :].lstrip()):
                    continue  # "i don't mind people": a phrase that answers only when it ends the thought
                if (
                    word == "no"
                    and p in ("no", "none", "nothing", "zero")
                    and rest
                    and not re.match(r"^[,.;:!-]", a[len(p) :])
                    and not re.match(r"(?:but|though|i|i'm|im|it|it's|its|there|there's|theres|they|not)\b", rest)
                ):
                    return None, a  # "no trees" is a statement, not a no
                return word, rest
    return None, a


def _positive(q: Reading, values: bool = True) -> Reading:
    return Reading(
        things=[Thing(t.i, t.noun, t.plural, False, t.definite) for t in q.things],
        values=[Value(v.slot, v.value, v.i, False, v.target) for v in q.values] if values else [],
        segment=q.segment,
        doc=q.doc,
    )


def has_attrs(s: Subject, vals: list[Value]) -> bool:
    return any(
        (v.slot == "color" and s.color == v.value)
        or (v.slot == "size" and s.size == v.value)
        or (v.slot == "adjective" and v.value in s.adjectives)
        for v in vals
    )


def set_attrs(s: Subject, vals: list[Value]) -> None:
    colors = [str(v.value) for v in vals if v.slot == "color"]
    if colors:
        s.color = " and ".join(dict.fromkeys(colors))
    for v in vals:
        if v.slot == "size":
            s.size = str(v.value)
        elif v.slot == "count" and int(v.value) > 0:  # "no dogs" / "zero dogs" is an exclusion, not a count
            s.count = int(v.value)
            s.plural = s.count > 1
        elif v.slot == "adjective" and v.value not in s.adjectives:
            s.adjectives.append(str(v.value))
