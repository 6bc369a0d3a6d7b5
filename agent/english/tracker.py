"""The offline dialogue-state tracker: each message updates the typed `SearchState`, no network needed.

A message is first stripped of what is about files and results (dates, orientation, formats, "#2"), then read
from its parse (`agent.reading`), then applied: a new topic resets the state; otherwise things are added,
modified, excluded or re-allowed, references ("it", "the red ones") land on the thing in focus, corrections
replace a value, and a "question? answer" turn (VisDial, or an answer to picseek's own question) becomes the
same kind of update. What it cannot place stays as description words; nothing is silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from picseek.agent.english import lexicon as L
from picseek.agent.english.answers import (
    APPROXIMATELY,
    FIRST_N,
    SETTING_SLOTS,
    SUBJECT_SLOTS,
    Answers,
    Update,
    has_attrs,
    set_attrs,
    split_qa,
    strip_phrase,
)
from picseek.agent.english.cues import said_as_known, scene_change, switch_lead
from picseek.agent.english.kinds import is_person, kinds_of, kinship, of_kind, same_kind
from picseek.agent.english.language import common_words, fix_typos, unknown_words
from picseek.agent.english.metadata import Metadata, take_count, take_filters, take_references
from picseek.agent.english.places import unmask
from picseek.agent.english.reading import (
    Reading,
    Thing,
    Value,
    corrected_words,
    read,
    says_what_it_does,
    swapped_words,
)
from picseek.agent.english.said import (
    MULTI_PREPOSITION,
    edit,
    held_in,
    named_in,
    replace_closest,
    replace_place,
    replace_scene,
    replace_words,
    scene_phrase,
    strip_framing,
)
from picseek.agent.english.scope import describes
from picseek.agent.state import Question, SearchState, Subject, singular
from picseek.tools.retrieve import MAX_K, Filters

# the verbs of a command that gives a thing its colour: "make the blue car green", "paint the door red"
_RECOLOUR_VERBS = frozenset("make turn change paint color colour recolor recolour".split())

_RETRACT = re.compile(
    r"^(?:never\s*mind|nvm|forget(?:\s+about)?|scratch|cancel|ignore|undo)\s+(?:the|that|about\s+the)\s+"
    r"([^,;.]+?)(?:\s*(?:[,;.]|\bbut\b|\bjust\b|\binstead\b)\s*(?P<rest>.*))?$"
)


_MAKE_IT_N = re.compile(
    r"^(?:(?:can|could)\s+you\s+)?(?:please\s+)?make\s+(?:it|them|that|those)\s+(?=(?:\d+|"
    + "|".join(sorted((w for w in L.NUMBERS if w not in ("single", "zero")), key=len, reverse=True))
    + r")\s+[a-z])"
)
# the words for people in general: excluding them excludes every person ("no people" takes "1 man selling them")
_ANYONE = frozenset({"person", "people", "anyone", "anybody", "someone", "somebody", "human", "nobody"})


def _keep(words: list[str], word: str) -> None:
    """A loose word joins the description's words (or the negatives) once: a lone word with nothing in focus is
    read both as a modifier of the focus and as a loose value."""
    if word not in words:
        words.append(word)


def _norm(message: str, follow_up: bool = True) -> str:
    text = message.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = said_as_known(" ".join(text.split()).strip(), follow_up)
    m = _SETTING_ONES.fullmatch(text.strip()) if follow_up else None
    if m and all(w in L.WHEN for w in m.group("when").lower().split()):
        return m.group("when")  # "sunset ones only", "the night ones": the results at sunset, at night
    return text


_SETTING_ONES = re.compile(
    r"(?:(?:just|only)\s+)?(?:the\s+)?(?P<when>[a-z]+(?:\s+[a-z]+)?)\s+ones(?:\s+only)?(?:[\s,]+please)?[\s.!]*",
    re.I,
)


class Tracker:
    """Offline planner: message + state -> new state."""

    name = "offline"

    def __init__(self, today: date | None = None):
        self.fixed_today = today  # None: the real date at each message ("last year" stays right after New Year)
        self.answers = Answers(self)

    def update(
        self,
        state: SearchState,
        message: str,
        asked: Question | None = None,
        resolve: Callable[[int], str] = str,
        written: dict[str, str] | None = None,
    ) -> Update:
        """Apply one user message to the state. `resolve` maps a result position ("#2") to an image id; `written`:
        the words asked to be written in the picture, masked in the message (places.read_places): read as no part
        of the scene, they are given back to the CLIP text as typed ('a sign that says bakery')."""
        text = _norm(message, follow_up=bool(state.phrases or state.subjects))
        md = Metadata()
        if asked is not None and asked.slot == "count":  # "like 5" answers "how many?": no "like #5"
            text = APPROXIMATELY.sub("", text.strip())
            m = re.fullmatch(
                r"(?:(?:just|only)\s+)?(?:(a)\s+)?(couple|pair|few|handful|bunch|lot|dozen|several|many|lots)[\s.!]*",
                text,
                re.I,
            )
            if m and asked.noun:  # "a couple" answers "how many bowls?": "a couple of bowls"
                of = " of" if m.group(2).lower() not in ("few", "several", "many") else ""
                text = f"{'a ' if m.group(1) else ''}{m.group(2)}{of} {asked.noun}"  # "just a couple": as many
        text = take_references(text, md, pointing=asked is None)
        text = take_filters(text, md, self.fixed_today or date.today())
        picks = asked is not None and asked.options and FIRST_N.fullmatch(text.strip(" .!"))  # "the first two"
        if not (asked is not None and asked.slot == "count" or picks):  # "just 2" answers "how many?", it is no k
            text = take_count(text, md)
        text = text.lower().strip(" ,.;:!")
        m = _MAKE_IT_N.match(text)
        counted = text[m.end() :].split()[1:2] if m else []  # "make it 3 oranges": the oranges, not the focus
        if counted and singular(counted[0]) in named_in(state.phrases):
            text = text[m.end() :]
        typed = text
        # a word the description already has is no typo ("no countertops" on "... stainless steel countertops")
        said_words = {w for p in state.phrases for w in re.findall(r"[a-z]+", p.lower())}
        text = fix_typos(
            text, tuple(dict.fromkeys([*(n for s in state.subjects for n in s.noun.split()), *said_words]))
        )
        said = _as_typed(typed, text)  # the user's own words for CLIP: only misspelt cue words corrected
        said = unmask(said, written or {})
        text = unmask(text, {})
        new = state.model_copy(deep=True)
        up = Update(new, unknown=unknown_words(text), known=named_in(state.phrases))
        # "any people, no" is a VisDial turn; "there is, yeah" after picseek's question is an answer to it
        qa = split_qa(text) if text and (asked is None or "?" in text or not text.startswith("there")) else None
        if qa:  # a VisDial/ChatIR "question? answer" turn reads the same whatever picseek asked before
            self.answers.qa(up, *qa)
        elif text and (swapped := self._swap_words(state, said)) is not None:
            # "at night instead of during the parade", "make it a forest": the words swapped where they stand, also
            # when picseek's question is pending (the user went on instead of answering)
            up.state = swapped
            self._metadata(up.state, md, resolve)
            return up
        elif asked is not None and text:
            self.answers.answer(up, text, asked)
        elif text:
            self.statement(up, text)
        self._metadata(up.state, md, resolve)
        described = _without_switch_cue(said) if up.reset else None
        up.state.phrases = edit(
            state,
            up.state,
            up.said or said,
            up.reset,
            described,
            answered=bool(qa) or asked is not None,
            renamed=up.renamed,
        )
        kept = strip_framing(said)
        if state.phrases and not strip_framing(text) and kept and not up.reset and kept not in up.state.phrases:
            up.state.phrases = [*up.state.phrases, kept]  # "in london", "in paris instead": only words kept for CLIP
        return up

    def _swap_words(self, state: SearchState, said: str) -> SearchState | None:
        """A message that puts new words in place of words the description has ("kite, not parachute", "at night
        instead of during the parade", "replace the bus with a tram"): the words are replaced where they stand and
        the typed view read again from them; exclusions, filters and references stay. None if the old words are
        not in the description as said."""
        if not state.phrases:
            return None
        swap = swapped_words(said)
        fix = corrected_words(said) if swap is None else None
        if swap is not None:
            phrases = replace_words(state.phrases, swap[1], swap[0])
        elif fix is not None and fix[1] is not None:  # "i typed bicycle but meant motorcycle"
            phrases = replace_words(state.phrases, fix[1], fix[0])
        elif fix is not None:  # "i meant a badminton court", "desserts*"
            phrases = replace_closest(state.phrases, fix[0], starred=said.rstrip().endswith("*"))
        elif (
            (m := _PLACE_INSTEAD.match(said.strip()))
            and (m.group("lead") or m.group("end") or m.group("fix"))
            and (placed := replace_place(state.phrases, m.group("pp"))) is not None
        ):  # "in the snow instead", "what about on the ice", "actually on the beach": where the picture is, anew
            phrases = placed
        elif (
            (m := _CORRECTED_PHRASE.match(said.strip()))
            and m.group("what").lower() not in L.TIME_WORDS  # "in the dark"
            and not any(w in L.WHEN for w in m.group("what").lower().split())
        ):  # "oh wait during a festival": the phrase said again (a time, season or weather is the slots')
            phrases = replace_closest(state.phrases, m.group("what"), starred=False)
        elif (m := _BARE_INSTEAD.match(said.strip())) and not any(
            w in L.LOCATIVE or w in L.PATH_PREPOSITIONS for w in m.group("what").lower().split()
        ):  # a kind of place with its own words before it, no phrase with a preposition
            # "kitchen instead", "the bedroom rather", "a garden instead" (on "... on a busy street corner")
            what = m.group("what")
            head = singular(what.split()[-1])
            phrases = replace_scene(state.phrases, what)
            if phrases is None and head in L.WHERE and head not in named_in(state.phrases):
                phrases = replace_place(state.phrases, scene_phrase(what), bare=True)  # "snowy field" is the field's
        elif (
            (scene := scene_change(said))
            and singular(scene.split()[-1]) in L.WHERE
            and scene.split()[0].lower() not in L.LOCATIVE  # "but in the kitchen" is a place phrase, read as one
        ):
            # "make it a forest", "change the setting to a park", "how about the snow": in place of the description's
            # kind of place, else where the picture is (never a new name for the thing in focus)
            phrases = replace_scene(state.phrases, scene) or replace_place(
                state.phrases, scene_phrase(scene), bare=True
            )
            if phrases is None and singular(scene.split()[-1]) not in named_in(state.phrases):
                phrases = [*state.phrases, scene_phrase(scene)]  # no kind of place to replace: it joins them
        else:
            return None
        if phrases is None:
            return None
        fresh = self.update(SearchState(), " ".join(phrases)).state
        st = state.model_copy(deep=True)
        kept = [s for s in state.subjects if s.excluded]
        st.subjects = [s for s in fresh.subjects if not s.excluded] + kept
        st.setting, st.words, st.focus, st.phrases = fresh.setting, fresh.words, fresh.focus, phrases
        return st

    # --- statements ------------------------------------------------------------------------------

    def statement(
        self, up: Update, text: str, focus: str | None = None, refine: bool = False, expected: frozenset = frozenset()
    ) -> None:
        st = up.state
        lead = switch_lead(text)  # "change of plan, find me ...", "Next: photos of ...": all after the lead is new
        m = _RETRACT.match(text) if lead is None else None
        if m:  # "never mind the no people thing", "forget the surfers, just waves": take that part back
            gone = read(m.group(1))
            self._retract(st, gone)
            if m.group("rest"):  # what follows the retraction is said about the search that is left
                before = {singular(s.noun) for s in up.state.subjects}
                self.statement(up, m.group("rest"), refine=True)
                new = [s for s in up.state.required if singular(s.noun) not in before]
                old = [t for t in gone.things if not t.ref]
                if len(new) == 1 and len(old) == 1:  # "forget the surfers, just waves": the waves take their place
                    up.renamed.append((old[0].noun, _noun_as_said(m.group("rest"), new[0].noun)))
            return
        if lead is not None:
            text, strong, soft = lead, True, False
        else:
            text, strong = strip_phrase(text, L.SWITCH_CUES)
            text, soft = strip_phrase(text, L.SOFT_SWITCH_CUES)  # "how about a kid on a swing, new search"
            soft = (soft or bool(_LOOKING_FOR.match(text))) and not strong  # "i'm looking for a farmers market now"
            m = _ASKED_INSTEAD.match(text)
            if m and not strong and len(m.group("what").split()) >= 4:  # "show me <a whole new scene> instead"
                text, soft = m.group("what"), True
        if not text:
            if strong:
                self._reset(up)
            return
        r = read(text, known=up.known, held=held_in(st.phrases), described=" ".join(st.phrases))
        if focus:
            st.focus = focus
        # "a street corner with no people or cars" in a description says what the corner is like: the words go to
        # CLIP as typed and exclude nothing (an exclusion is asked of the results: "no people", "without the cat")
        first = _nothing_said(st)
        if strong or (not refine and self._starts_new_topic(st, r, soft, expected)):
            self._reset(up)
            st = up.state
            r.known = frozenset()
            first = True
        for t in [*r.things, *r.values] if first else ():  # "with no shirt on standing on a snowboard"
            t.negative = t.negative and not describes(r.doc, t.i)
        self.apply(st, r)
        up.renamed += r.renamed

    def _starts_new_topic(self, st: SearchState, r: Reading, soft: bool, expected: frozenset = frozenset()) -> bool:
        if _nothing_said(st):
            return False  # nothing to refine: the reading simply fills the state
        new_nouns = [t for t in r.things if not t.ref and not t.negative and st.find(t.noun, excluded=None) is None]
        new_nouns = [t for t in new_nouns if not r.is_known(t.noun)]
        new_nouns = [t for t in new_nouns if singular(t.noun.split()[-1]) not in expected]
        if not new_nouns:
            return False
        if soft:
            return True
        refining = r.add or r.linked or r.question or r.correction or r.reallow
        # "it", "them" point back at the search ("a red collar on it"), unless a request for a new picture named
        # their thing first ("i want cows eating grass with big trees behind them")
        asked = bool(_REQUESTED.match(r.text.lower()))
        pointing = [
            t
            for t in r.things
            if t.ref
            and not (asked and any(not u.ref and u.i < t.i for u in r.things) and r.doc[t.i].head.lower_ != "in")
        ]  # "i want a train in it": in the picture searched for
        refining = refining or bool(pointing) or any(t.negative for t in r.things)
        refining = refining or any(st.find(t.noun) is not None for t in r.things if not t.ref)
        refining = refining or any(v.negative for v in r.values)
        refining = refining or any(t.definite and _predicated(r, t) for t in new_nouns)
        refining = refining or says_what_it_does(r.doc)  # "wearing a red helmet" on "a man riding a bike"
        return not (refining or not asked and _placed_by_what_it_has(st, r))

    def _retract(self, st: SearchState, r: Reading) -> None:
        for t in r.things:
            if not t.ref:
                st.subjects = [s for s in st.subjects if singular(s.noun) != singular(t.noun)]
                st.negatives = [n for n in st.negatives if n != t.noun]
        for v in r.values:
            if v.slot in SETTING_SLOTS and getattr(st.setting, v.slot) == v.value:
                setattr(st.setting, v.slot, None)
            st.negatives = [n for n in st.negatives if n not in (v.value, v.said)]

    def _reset(self, up: Update) -> None:
        up.state = SearchState(k=up.state.k)
        up.reset = True

    def apply(self, st: SearchState, r: Reading) -> None:
        values = _drop_corrected(r.values)
        by_thing: dict[int, list[Value]] = {}
        loose: list[Value] = []
        for v in values:
            if v.slot in SUBJECT_SLOTS:
                target = r.owner(v)
                if target is not None:
                    by_thing.setdefault(target, []).append(v)
                    continue
            loose.append(v)
        named = [t for t in r.things if not t.ref]
        renamed = self._noun_correction(st, r, named, by_thing)
        for t in r.things:
            if t.i in renamed:
                continue
            vals = by_thing.get(t.i, [])
            if t.ref:
                self._to_focus(st, vals, t.negative, r.reallow)
            else:
                self._thing(st, t, vals, r)
        head = _head_thing(r, [t for t in named if t.i not in renamed and not t.negative])
        if head is not None and (found := st.find(head.noun)) is not None:
            st.focus = found.noun  # "a black dog plays with a toy": "a small one" is the dog
        # a lone 'red' or 'modern and bright' describes the thing in focus; 'should look grainy' the picture
        to_thing = ("color", "size", "count") if r.about_picture else ("color", "size", "count", "adjective")
        self._to_focus(st, [v for v in loose if v.slot in to_thing], None, r.reallow)
        for v in loose:
            if v.slot in SETTING_SLOTS:
                self.setting(st, v, r.reallow)
            elif v.slot == "word" or (v.slot == "adjective" and (r.about_picture or st.focused() is None)):
                tok = r.doc[v.i] if r.doc is not None and v.i < len(r.doc) else None
                if (
                    v.negative
                    and tok is not None
                    and tok.pos_ == "VERB"
                    and any(c.dep_ == "dobj" for c in tok.children)
                ):
                    continue  # "he's not wearing one": the thing not worn is to avoid, not wearing ("not smiling" is)
                # kept once: a word said twice ("sitting ... that is sitting") is never negated by it
                _keep(st.negatives if v.negative else st.words, str(v.value))

    def _noun_correction(self, st: SearchState, r: Reading, named: list[Thing], by_thing) -> set[int]:
        """A thing changes noun, keeping its modifiers: 'sorry, I meant a truck' (the thing in focus), 'truck not
        car', 'change the cat to a fox', 'I said sheep but I meant goat' (the thing named)."""
        fresh = [t for t in named if not t.negative and st.find(t.noun, excluded=None) is None]
        fresh = [t for t in fresh if not r.is_known(t.noun)]
        if len(fresh) != 1 or r.add:
            return set()
        old = [t for t in named if t is not fresh[0] and st.find(t.noun) is not None]
        said = [t for t in named if t is not fresh[0] and st.find(t.noun) is None and r.is_known(t.noun)]
        if not old and said and (r.correction or (len(named) == 2 and said[0].negative)):
            # 'a hill, not a mountain' where the mountain is in the description's words but no subject
            return _rename_words(st, r, fresh[0], by_thing, said[0].noun) | {o.i for o in said}
        if old and (r.correction or (len(named) == 2 and old[0].negative)):
            target = st.find(old[0].noun)
        elif r.correction and not old:
            # "i meant a pony" renames the thing of its kind (the horse), not the girl in focus who leads it
            target = st.focused()
            new_noun = fresh[0].noun
            if kinds_of(new_noun) and not (target is not None and same_kind(target.noun, new_noun)):
                kin = [s for s in st.required if same_kind(s.noun, new_noun)]
                words = [w for w in sorted(r.known) if same_kind(w, new_noun) and st.find(w) is None]
                if kin:  # the closest kind: 'a pony' is the horse's, not the goat's
                    target = max(kin, key=lambda s: kinship(s.noun, new_noun))
                elif len(words) == 1:  # "i meant softball" on "a game of baseball"
                    return _rename_words(st, r, fresh[0], by_thing, words[0])
        else:
            return set()
        if target is None:
            return set()
        t = fresh[0]
        r.renamed.append((target.noun, _as_said(r, t)))
        target.noun, target.plural = t.noun, t.plural or target.plural
        set_attrs(target, by_thing.get(t.i, []))
        st.focus = target.noun
        return {t.i} | {o.i for o in old}

    def _thing(self, st: SearchState, t: Thing, vals: list[Value], r: Reading) -> None:
        place = (st.setting.place or "").split()
        if t.negative and t.noun.split()[-1] in place and any(v.slot == "place" and not v.negative for v in r.values):
            return  # "by the lake, not the beach": the place is being corrected
        zero = any(v.slot == "count" and v.value == 0 for v in vals)  # "zero dogs", "how many dogs? 0"
        doc = r.doc
        if (
            t.negative
            and t.noun == "person"
            and doc is not None
            and t.i + 1 < len(doc)
            and doc[t.i + 1].lower_ == "else"
            and any(is_person(s.noun) for s in st.required)
        ):
            return  # "no, nobody else" with a man in it: no one besides him, and he stays wanted
        if t.negative or zero or any(v.negative for v in vals if v.slot != "count"):
            self.exclude(st, t, vals)
            return
        old_ex = st.find(t.noun, excluded=True)
        if old_ex is not None:  # "people are ok again": re-allowed, not made required
            st.subjects.remove(old_ex)
            return
        s = st.find(t.noun)
        if s is None and t.definite:  # "make the bird yellow" on "a red cardinal": the thing of that kind
            kin = [x for x in st.required if of_kind(t.noun, x.noun)]
            s = kin[0] if len(kin) == 1 else None
        if s is None:
            s = Subject(noun=t.noun, plural=t.plural)
            st.subjects.append(s)
        elif t.plural:
            s.plural = True
        colours = [v.i for v in vals if v.slot == "color"]
        made = r.doc is not None and any(x.lemma_.lower() in _RECOLOUR_VERBS for x in r.doc[: t.i])
        if made and any(i < t.i for i in colours) and any(i > t.i for i in colours):
            vals = [v for v in vals if not (v.slot == "color" and v.i < t.i)]  # "make the blue car green"
        set_attrs(s, vals)
        st.focus = s.noun

    def exclude(self, st: SearchState, t: Thing, vals: list[Value]) -> None:
        req = st.find(t.noun)
        if req is not None and len(req.noun.split()) < len(t.noun.split()) and req.noun in self._said_apart(st, t.noun):
            req = None  # "without the stop sign" on "2 signs ..., as well as a stop sign": the 2 signs stay
        attrs = [v for v in vals if v.slot != "count"]
        if req is not None and not attrs:
            st.subjects.remove(req)
        if singular(t.noun) in _ANYONE and not attrs and st.required:
            # "no people": every other person the description names goes ("and 1 man selling them"); the one it is
            # about stays ("a skateboarder ... , no people": no one else)
            main = st.required[0]
            st.subjects = [s for s in st.subjects if s.excluded or s is main or not is_person(s.noun)]
        ex = Subject(noun=t.noun, plural=t.plural, excluded=True)
        set_attrs(ex, attrs)
        if not any(s.excluded and s.noun == ex.noun and s.phrase(False) == ex.phrase(False) for s in st.subjects):
            st.subjects.append(ex)
        if st.focus == t.noun and req is not None and not attrs:
            st.focus = None

    @staticmethod
    def _said_apart(st: SearchState, noun: str) -> set[str]:
        """The head of a two-word name when the description also says the head without the name's first word."""
        *first, head = noun.lower().split()
        text = " ".join(st.phrases).lower()
        alone = re.search(rf"(?<!\b{re.escape(' '.join(first))} )\b{re.escape(head)}s?\b", text)
        return {head, singular(head)} if alone else set()

    def _to_focus(self, st: SearchState, vals: list[Value], negative: bool | None, reallow: bool = False) -> None:
        """Modifiers of 'it' / 'the red ones' / a lone 'red': they belong to the thing in focus."""
        if not vals:
            return
        s = st.focused()
        if s is not None and reallow and not negative:  # "red ones are fine too": the exclusion goes, nothing is set
            allowed = [x for x in st.excluded if x.noun == s.noun and has_attrs(x, vals)]
            if allowed:
                for x in allowed:
                    st.subjects.remove(x)
                return
        if s is None:
            for v in vals:
                if v.slot in ("color", "size", "adjective"):
                    _keep(st.negatives if v.negative else st.words, str(v.value))
            return
        neg = [v for v in vals if v.negative or negative]
        pos = [v for v in vals if not (v.negative or negative)]
        if neg:
            ex = Subject(noun=s.noun, plural=s.plural, excluded=True)
            set_attrs(ex, [v for v in neg if v.slot != "count"])
            if ex.color or ex.size or ex.adjectives:
                st.subjects.append(ex)
        set_attrs(s, pos)

    def setting(self, st: SearchState, v: Value, reallow: bool = False) -> None:
        slot, value = v.slot, str(v.value)
        said = v.said or value
        if v.negative:
            if getattr(st.setting, slot) == value:
                setattr(st.setting, slot, None)
            if said not in st.negatives:
                st.negatives.append(said)
            return
        if said in st.negatives or value in st.negatives:
            st.negatives = [n for n in st.negatives if n not in (said, value)]
            if reallow:  # "snow is fine again": allowed, not asked for
                return
        setattr(st.setting, slot, value)

    # --- what became metadata: references, filters, counts ----------------------------------------

    def _metadata(self, st: SearchState, md: Metadata, resolve) -> None:
        for refs, into, other in ((md.like, st.like, st.unlike), (md.unlike, st.unlike, st.like)):
            for ref in refs:
                rid = resolve(ref)
                if rid not in into:
                    into.append(rid)
                if rid in other:
                    other.remove(rid)
        if md.filters:
            st.filters = Filters(**{**st.filters.model_dump(), **md.filters})
        if md.k:
            st.k = max(1, min(MAX_K, md.k))
        elif md.more:
            st.k = min(MAX_K, (st.k or 10) * 2)


_LOOKING_FOR = re.compile(
    r"^(?:(?:now|ok(?:ay)?|so|actually|hmm+|wait|no)[\s,]+)*(?:(?:i'?m|i\s+am|we'?re|we\s+are)\s+(?:now\s+)?"
    r"(?:looking|searching)\s+for\s+|(?:i\s+want|i'?d\s+like|i\s+need)(?:\s+to\s+see)?\s+(?:some\s+)?"
    r"(?:photos?|pictures?|pics?|images?|shots?)\s+of\s+)"
    r"(?!(?:one|ones|it|them|those|that|this|the|some\s+with|something|anything)\b)"
)
_LOCATIVE = "|".join(sorted(L.LOCATIVE, key=len, reverse=True))  # "in", "on", "next to" ..., longest first
_PATH = "|".join(sorted(L.PATH_PREPOSITIONS))
_CORRECTED_PHRASE = re.compile(
    r"^(?:(?:oh|wait|no|sorry|oops|whoops|actually|i\s+mean|make\s+that)[\s,]+)+"
    rf"(?P<what>(?:during|{_LOCATIVE})\s+(?:a|an|the|some)\s+[a-z ]+?)[\s.!]*$",
    re.I,
)
_PLACE_INSTEAD = re.compile(
    r"^(?:(?P<fix>actually|rather|oh\s+wait|wait|sorry)[\s,]+)?(?:(?:ok(?:ay)?|hmm+|oh|well|no|so|maybe|but)[\s,]+)*"
    r"(?:(?P<lead>(?:what|how)\s+about|try|(?:put|move|place|set|take)\s+(?:it|them|him|her|this|these|everything))\s+)?"
    r"(?P<pp>(?:(?:out|up|down|back|over|away|far|outside)\s+)?"
    rf"(?:{MULTI_PREPOSITION}|{_LOCATIVE}|{_PATH})\s+[a-z][a-z' -]*?)"
    r"(?P<end>[\s,]+(?:instead|rather))?(?:[\s,]+(?:please|pls|then))?[\s.!?]*$",
    re.I,
)
# a request for a picture: "i want ...", "show me ...", "find ..."
_REQUESTED = re.compile(
    r"^(?:(?:ok(?:ay)?|now|so|then)[\s,]+)*(?:i\s+want|i'?d\s+like|show\s+me|find|give\s+me|let'?s\s+see)\b"
)
_BARE_INSTEAD = re.compile(
    r"^(?:(?:actually|ok(?:ay)?|hmm+|oh|well|no|so|maybe)[\s,]+)*(?P<what>(?:(?:the|a|an|his|her|their|my)\s+)?"
    r"(?:(?!(?:but|so|then|now|just|only|the|a|an)\b)[a-z]+(?:\s*,\s*|\s+)(?:and\s+)?){0,3}[a-z]+)"
    r"[\s,]+(?:instead|rather|would\s+be\s+better)[\s.!]*$",
    re.I,
)
_ASKED_INSTEAD = re.compile(
    r"^(?:(?:actually|ok(?:ay)?|hmm+|oh|well|now|no|so|wait)[\s,]+)*(?:(?:can|could)\s+you\s+)?(?:please\s+)?"
    r"(?:(?:show|find|get|give)(?:\s+(?:me|us))?|i\s+want|i'?d\s+like|i\s+would\s+like)\s+(?P<what>.+?)[\s,]+instead$"
)


def _nothing_said(st: SearchState) -> bool:
    """Whether the search has nothing to refine yet: no thing, word, place or exclusion."""
    return not (st.required or st.words or st.setting.place or st.excluded)


def _rename_words(st: SearchState, r: Reading, t: Thing, by_thing, old_word: str) -> set[int]:
    """A correction of words the description has but the typed view holds no subject for: a new subject under the
    new name, and the old words renamed where they stand. Returns the thing's index, as handled."""
    s = Subject(noun=t.noun, plural=t.plural)
    set_attrs(s, by_thing.get(t.i, []))
    st.subjects.append(s)
    st.focus = s.noun
    r.renamed.append((old_word, _as_said(r, t)))
    return {t.i}


def _noun_as_said(text: str, noun: str) -> str:
    want = singular(noun.split()[-1])
    return next((w for w in re.findall(r"[a-z]+", text.lower()) if singular(w) == want), noun)


def _as_typed(typed: str, fixed: str) -> str:
    """The message as typed, except words corrected to the reader's own closed-class words ('nigth' -> 'night',
    'withuot' -> 'without'); a content word the dictionary does not know stays as typed ('frisbee', names)."""
    a, b = re.split(r"(\W+)", typed), re.split(r"(\W+)", fixed)
    if len(a) != len(b):
        return fixed
    words = set(common_words())
    return "".join(y if x != y and y.lower() in words else x for x, y in zip(a, b))


def _as_said(r: Reading, t: Thing) -> str:
    """A thing's noun as the message says it ('penguins', 'fire truck')."""
    if r.doc is None or t.i >= len(r.doc):
        return t.noun
    tok = r.doc[t.i]
    comp = [c.text.lower() for c in tok.children if c.dep_ == "compound" and c.i < t.i]
    return " ".join([*comp, tok.text.lower()])


def _without_switch_cue(text: str) -> str:
    """A new description after 'forget that,' / 'new search:' / "let's look at": the words after the cue."""
    lead = switch_lead(text)
    if lead is not None:
        return lead
    text, _ = strip_phrase(text, L.SWITCH_CUES)
    text, _ = strip_phrase(text, L.SOFT_SWITCH_CUES)  # "how about a kid on a swing, new search"
    m = _ASKED_INSTEAD.match(text.strip())  # "no wait, i want a pile of autumn leaves instead"
    return m.group("what") if m else text


def _head_thing(r: Reading, things: list[Thing]) -> Thing | None:
    """Of several things a message names, the one the sentence is about: the least deep in the parse ("a dog sits in
    the grass near a frisbee" is about the dog); of things joined by "and", the last, as before."""
    if len(things) < 2 or r.doc is None or any(t.i >= len(r.doc) for t in things):
        return None

    depths: dict[int, int] = {}

    def depth(tok) -> int:  # hops to the root that are not "and"; memoised and without recursion, so a long
        path = []  # message stays linear and a deep parse cannot overflow the stack
        while tok.i not in depths and tok.head.i != tok.i:
            path.append(tok)
            tok = tok.head
        below = depths.setdefault(tok.i, 0)
        for t in reversed(path):
            below = depths[t.i] = below + (t.dep_ != "conj")
        return below

    d = {t.i: depth(r.doc[t.i]) for t in things}
    least = min(d.values())
    top = [t for t in things if d[t.i] == least]
    joined = any(r.doc[t.i].dep_ == "conj" for t in top)
    return top[-1] if joined else top[0]  # "a man thrusts his hand": the man; "a dog and a ball": the ball


def _predicated(r: Reading, t: Thing) -> bool:
    """'the tent has to be green': a definite thing with something said about it."""
    return any(r.owner(v) == t.i for v in r.values if v.slot in SUBJECT_SLOTS)


def _drop_corrected(values: list[Value]) -> list[Value]:
    """'not green — yellow': a negated value followed by another value of the same slot is a correction."""
    out = []
    for v in values:
        if v.negative and v.slot not in ("word", "adjective"):
            if any(w.slot == v.slot and not w.negative for w in values):
                continue
        out.append(v)
    return out


def _placed_by_what_it_has(st: SearchState, r: Reading) -> bool:
    """Whether the message places its new thing by one the search has, named as known ('a dog behind the man',
    "there's a lamp next to his bed") or by a person it has ('a dog next to him', 'a cat on her lap'): more of the
    same picture, not a new one (asked only of a message that is not a request for a picture of its own)."""
    someone = any(is_person(s.noun) for s in st.required)

    def known(t) -> bool:
        # "a woman with a cat on her lap": her lap is the new woman's
        someone_here = any(w.pos_ == "NOUN" and is_person(w.lower_) for w in r.doc[: t.i])
        if t.lower_ in ("him", "her", "them"):
            return someone and not someone_here  # "next to him": the person the search has
        owner = next((c for c in t.children if c.dep_ in ("det", "poss") and c.lower_ in L.KNOWN_DETERMINERS), None)
        if owner is None:
            return False
        mine = owner.lower_ in ("his", "her", "their") and someone and not someone_here
        return st.find(singular(t.lower_)) is not None or mine

    return any(t.dep_ == "pobj" and t.head.pos_ == "ADP" and known(t) for t in r.doc)
