"""Places: GPS to a named place (GeoNames, offline), place names in requests, the place filter, and the index keeping
places current. The geocoder's edge cases: the antimeridian, the poles, no GPS, the (0, 0) of a camera with no fix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from picseek.agent.english.places import read_places, take_places, take_text_query
from picseek.tools.errors import BadQuery
from picseek.tools.places import (
    PlaceFilter,
    closest_with_photos,
    gazetteer,
    geocoder_id,
    haversine_km,
    nothing_from,
    place_meta,
    usable_gps,
)
from picseek.tools.retrieve import Filters, ImageQuery, Searcher
from picseek.tools.store import where_test

from tests.conftest import image_meta


def test_a_city_centre_and_its_outskirts_are_the_city_not_the_town_next_door():
    g = gazetteer()
    assert g.reverse(38.7223, -9.1393).label == "Lisbon, Portugal"
    assert g.reverse(35.0116, 135.7681).label == "Kyoto, Japan"
    # 6 km west of Tokyo's centre point, in the city; smaller places' centres are nearer
    assert g.reverse(35.6895, 139.6917 - 6 / 90.6).city == "Tokyo"
    # Porto's parishes are places of their own in GeoNames: standing on their centre points is still Porto
    assert g.reverse(41.17289, -8.59931).city == "Porto"  # Paranhos
    assert g.reverse(41.1671, -8.6691).city == "Porto"  # Aldoar
    # but a separate town's centre keeps its name (Vila Nova de Gaia, across the river)
    assert g.reverse(41.12401, -8.61241).city == "Vila Nova de Gaia"
    assert g.reverse(41.1496, -8.6110).city == "Porto"


def test_no_gps_and_the_null_island_fix_name_nothing():
    g = gazetteer()
    assert g.reverse(None, None) is None
    assert g.reverse(0.0, 0.0) is None
    assert not usable_gps(0, 0) and not usable_gps(float("nan"), 3) and not usable_gps(91, 0)
    assert not usable_gps(10, 181) and not usable_gps("x", 1)
    assert place_meta(None, None) == {}
    # a (0, 0) fix still gets the geocoder's stamp, so a re-index does not look at it again
    assert place_meta(0.0, 0.0) == {"place_by": geocoder_id()}


def test_the_antimeridian_is_crossed_not_a_wall():
    assert haversine_km(0.0, 179.9, 0.0, -179.9) == pytest.approx(22.24, abs=0.1)
    g = gazetteer()
    # Labasa (Fiji) sits at 179.36 E; a point at 179.97 W is ~70 km east of it, across the line
    near = g.within(-16.4332, -179.97, 100)
    assert "Labasa" in [p.city for p in near]
    p = g.reverse(-16.4332, -179.97)
    assert p is not None and p.cc == "FJ"  # too far for a city, near enough for the country
    assert p.city is None and p.meta() == {"place_country": "Fiji", "place_cc": "FJ"}


def test_the_poles_name_nothing_and_do_not_fail():
    g = gazetteer()
    assert g.reverse(90.0, 0.0) is None
    assert g.reverse(-90.0, 123.0) is None
    assert g.reverse(89.999, -180.0) is None
    assert math.isfinite(float(haversine_km(90, 0, -90, 0)))


def test_place_names_resolve_in_english_and_local_spelling():
    g = gazetteer()
    assert g.lookup("Lisboa").city == "Lisbon"
    assert g.lookup("lisbon").city == "Lisbon"
    assert g.lookup("Paris").cc == "FR"  # the most populous Paris, not the one in Texas
    assert g.lookup("Paris", "US").region == "Texas"
    assert g.country_code("Portugal") == g.country_code("PT") == g.country_code("prt") == "PT"
    assert g.country_code("USA") == "US" and g.country_code("Atlantis Republic") is None
    assert g.region("california") == "California"


def test_place_filter_where_clauses_and_unknown_names():
    assert PlaceFilter(city="Lisboa").resolve() == ("Lisbon, Portugal", {"place_id": {"$eq": 2267057}})
    assert PlaceFilter(city="Paris", exclude=True).resolve()[1] == {"place_id": {"$ne": 2988507}}
    assert PlaceFilter(country="Japan").resolve() == ("Japan", {"place_cc": {"$eq": "JP"}})
    assert PlaceFilter(region="california").resolve()[1] == {"place_region": {"$eq": "California"}}
    label, where = PlaceFilter(near="Porto", radius_km=25).resolve()
    assert label == "within 25 km of Porto, Portugal" and 2735943 in where["place_id"]["$in"]
    with pytest.raises(BadQuery, match="I don't know a place called 'Xanadu Prime'"):
        PlaceFilter(city="Xanadu Prime").resolve()
    with pytest.raises(BadQuery, match="country called"):
        PlaceFilter(country="Narnia").resolve()
    with pytest.raises(BadQuery, match="needs a city"):
        PlaceFilter().resolve()
    assert Filters(place=PlaceFilter(country="PT"), orientation="square").where() == {
        "$and": [{"orientation": "square"}, {"place_cc": {"$eq": "PT"}}]
    }
    # the where is one the store can test itself (int and string operands), so filtered search stays fast
    assert where_test(PlaceFilter(near="Porto").resolve()[1]) is not None


def test_place_filter_from_a_form_field():
    assert PlaceFilter.parse("Lisbon, Portugal") == PlaceFilter(city="Lisbon", country="PT")
    assert PlaceFilter.parse("Portugal") == PlaceFilter(country="Portugal")
    assert PlaceFilter.parse("near Porto").near == "Porto"
    assert PlaceFilter.parse("not in Paris") == PlaceFilter(city="Paris", exclude=True)
    assert PlaceFilter.parse("  ") is None
    with pytest.raises(BadQuery):
        PlaceFilter.parse("Xanadu Prime")


@pytest.mark.parametrize(
    "message, rest, place",
    [
        ("photos from Lisbon", "photos", PlaceFilter(city="Lisbon", country="PT")),
        ("in Portugal", "", PlaceFilter(country="Portugal")),
        ("taken in Kyoto at night", "at night", PlaceFilter(city="Kyoto", country="JP")),
        ("not in Paris", "", PlaceFilter(city="Paris", country="FR", exclude=True)),
        ("near Porto", "", PlaceFilter(near="Porto", country="PT")),
        ("a red car in lisbon", "a red car", PlaceFilter(city="Lisbon", country="PT")),
        ("within 40 km of Tokyo", "", PlaceFilter(near="Tokyo", country="JP", radius_km=40)),
        ("pictures from Lisbon, Portugal", "pictures", PlaceFilter(city="Lisbon", country="PT")),
        ("cars in New York", "cars", PlaceFilter(city="New York City", country="US")),
        ("a dog in California", "a dog", PlaceFilter(region="California")),
        ("outside Japan", "", PlaceFilter(country="Japan", exclude=True)),
    ],
)
def test_places_in_requests(message, rest, place):
    assert take_places(message) == (rest, place, [])


@pytest.mark.parametrize(
    "message",
    [
        "boats in the park",
        "a house at night",
        "photos from Christmas",
        "show me photos in nice weather",
        "a boat in JPEG",
        "shots in RAW",
    ],
)
def test_words_that_are_not_places_stay_in_the_request(message):
    assert take_places(message) == (message, None, [])


def test_an_unknown_place_is_returned_to_be_said_back():
    assert take_places("a beach in Narnia") == ("a beach", None, ["Narnia"])
    assert take_places("near Xanadu Prime at night") == ("at night", None, ["Xanadu Prime"])


@pytest.mark.parametrize(
    "message, rest, words",
    [
        ("a sign that says bakery at night", "a sign at night", ["bakery"]),
        ('"OPEN"', "", ["OPEN"]),
        ("a shop with the word pizza", "a shop", ["pizza"]),
        ("a sign saying fresh bread, at night", "a sign, at night", ["fresh bread"]),
        ("the one that reads HOTEL", "the one", ["HOTEL"]),
        ("it's a 'TAXI' sign", "it's a sign", ["TAXI"]),
        ("a red car", "a red car", []),
        ("I said a bicycle, not a motorcycle", "I said a bicycle, not a motorcycle", []),  # a person speaking
    ],
)
def test_written_words_in_requests(message, rest, words):
    assert take_text_query(message) == (rest, words)


def test_a_quoted_place_name_is_a_word_on_a_sign():
    said = read_places("a sign that says “Paris” in Lisbon")
    assert said.written == ["Paris"] and said.place == PlaceFilter(city="Lisbon", country="PT")


PLACES = {  # a photo's GPS per city, a little off the centre
    "Lisbon": (38.7250, -9.1450),
    "Porto": (41.1500, -8.6100),
    "Kyoto": (35.0100, 135.7650),
    "Paris": (48.8600, 2.3500),
}


@pytest.fixture
def placed_store(tmp_path):
    """A store of 40 images: ten per city with its GPS labelled, four with no GPS."""
    from picseek.tools.store import Store

    store = Store(tmp_path / "s", tmp_path / "g", "arch/w", dim=8, create=True)
    rng = np.random.default_rng(1)
    ids, metas = [], []
    for n, (city, (lat, lon)) in enumerate(PLACES.items()):
        for i in range(10):
            path = f"{city}/{i}.jpg"
            ids.append(f"{n:02d}{i:022d}")
            metas.append(image_meta(path, gps_lat=lat, gps_lon=lon, **place_meta(lat, lon)))
    for i in range(4):
        ids.append(f"99{i:022d}")
        metas.append(image_meta(f"none/{i}.jpg"))
    vecs = rng.normal(size=(len(ids), 8)).astype(np.float32)
    store.upsert(ids, vecs / np.linalg.norm(vecs, axis=1, keepdims=True), metas)
    return store


def _paths(store, where):
    return sorted(r.meta.path.split("/")[0] for r in store.records_where(where))


def test_place_filters_select_exactly_their_photos(placed_store):
    s = placed_store
    assert set(_paths(s, PlaceFilter(city="Lisbon").resolve()[1])) == {"Lisbon"}
    assert set(_paths(s, PlaceFilter(country="Portugal").resolve()[1])) == {"Lisbon", "Porto"}
    assert len(_paths(s, PlaceFilter(country="Portugal").resolve()[1])) == 20
    # "not in Paris" keeps the photos with no GPS: they are not from Paris as far as anyone knows
    not_paris = _paths(s, PlaceFilter(city="Paris", exclude=True).resolve()[1])
    assert "Paris" not in not_paris and len(not_paris) == 34
    assert set(_paths(s, PlaceFilter(near="Gaia", radius_km=20).resolve()[1])) == {"Porto"}


def test_nothing_from_a_place_without_photos_names_the_closest_that_have_some(placed_store):
    note = nothing_from(placed_store, PlaceFilter(city="Madrid"))
    assert note == (
        "Nothing from Madrid, Spain in this gallery; the closest places with photos: "
        "Porto, Portugal; Lisbon, Portugal; Paris, France."  # 422, 503 and 1,053 km away
    )
    assert nothing_from(placed_store, PlaceFilter(city="Lisbon")) is None
    assert nothing_from(placed_store, PlaceFilter(city="Madrid", exclude=True)) is None
    assert nothing_from(placed_store, PlaceFilter(country="Spain")).startswith("Nothing from Spain")
    assert closest_with_photos(gazetteer().lookup("Osaka"), {"Kyoto, Japan": PLACES["Kyoto"]}) == ["Kyoto, Japan"]


def test_a_plain_reindex_labels_old_records_without_model_work(placed_store, tmp_path):
    """Records written before places (GPS, no place fields) get their place from a plain re-index's label step."""
    from picseek.tools.index import label_places

    s = placed_store
    old = [r.id for r in s.records_where({"place_city": "Kyoto"})]
    for rid in old:  # as a store written before places holds them: GPS only
        rec = s.get([rid])[0]
        meta = rec.meta.model_dump(exclude_none=True)
        bare = {k: v for k, v in meta.items() if not k.startswith("place_")}
        s.delete([rid])
        vec = np.ones((1, 8), np.float32) / np.sqrt(8)
        s.upsert([rid], vec, [type(rec.meta).model_validate(bare)])
    assert not s.records_where({"place_city": "Kyoto"})
    assert label_places(s) == len(old) == 10
    assert len(s.records_where({"place_city": "Kyoto"})) == 10
    assert label_places(s) == 0  # labelled once; the no-GPS records are never read


def test_searcher_filters_by_place(placed_store):
    class _Embedder:  # a fixed text vector: the ranking is not what this test is about
        fit = None
        model_id = "arch/w"

        def embed_texts(self, texts):
            v = np.ones((len(texts), 8), np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    searcher = Searcher(placed_store, _Embedder())
    hits = searcher.search(ImageQuery(text="x", filters=Filters(place=PlaceFilter(city="Kyoto")), k=50))
    assert len(hits) == 10 and {h.metadata.place_city for h in hits} == {"Kyoto"}


def test_the_ui_place_field_filters_and_details_name_the_place(toy_index, toy_embedder, tmp_path):
    """The filter accordion's place field runs the search again with that place; an unknown place is one sentence;
    Details show the place and the text read in the image."""
    from types import SimpleNamespace

    from picseek.agent.agent import Agent
    from picseek.agent.session import Session
    from picseek.tools.records import ImageRecord
    from picseek.tools.retrieve import Searcher
    from picseek.ui.app import FILTERS, Handlers, details_table

    gallery, store, _ = toy_index
    lisbon = [r.id for r in list(store.iter_metadata())[:5]]
    store.update_metadata({i: {"gps_lat": 38.7223, "gps_lon": -9.1393, **place_meta(38.7223, -9.1393)} for i in lisbon})
    names = "chat gallery box detail upload options saved session selected".split() + list(FILTERS)
    h = Handlers(Agent(Searcher(store, toy_embedder)), SimpleNamespace(**{n: n for n in names}))

    def last(gen):
        out = {}
        for step in gen:
            out.update(step)
        return out

    out = last(h.respond("a boat", [], "", 12, 0))
    out = last(h.apply_filters("", "", "any", 0, 0, "", out["chat"], out["session"], 12, 0, "Lisbon, Portugal"))
    session = Session.load(out["session"])
    assert session.state.filters.place == PlaceFilter(city="Lisbon", country="PT")
    assert out["f_place"] == "Lisbon, Portugal"
    assert len(out["gallery"]) == 5
    bad = last(h.apply_filters("", "", "any", 0, 0, "", out["chat"], out["session"], 12, 0, "Xanadu Prime"))
    assert bad["chat"][-1]["content"] == "Bad filter: I don't know a place called 'Xanadu Prime'."
    rec = store.get(lisbon[:1])[0]
    rec = ImageRecord(rec.id, rec.meta.model_copy(update={"ocr_text": "BAKERY"}), rec.caption)
    ref = SimpleNamespace(match=80, reason="")
    table = details_table(rec, ref, 1, "/x.jpg")
    assert "<th>Place</th><td>Lisbon, Portugal</td>" in table and "<th>Text in image</th><td>BAKERY</td>" in table


@pytest.mark.parametrize("message", ["photos within 5000 km of Tokyo", "photos within 0 km of Tokyo"])
def test_a_distance_out_of_range_is_one_sentence_not_a_crash(message, placed_store):
    """5000 km used to fail the turn with a ValidationError; 0 km silently became 25 km."""
    from picseek.agent.agent import Agent
    from picseek.agent.session import Session

    with pytest.raises(BadQuery, match="a distance is between 1 and 2,000 km"):
        take_places(message)
    with pytest.raises(BadQuery, match="a distance is between 1 and 2,000 km"):
        PlaceFilter.parse(message.removeprefix("photos "))
    r = Agent(Searcher(placed_store, None)).turn(Session(), message)
    assert r.failed and "a distance is between 1 and 2,000 km" in r.reply and "went wrong" not in r.reply
    assert take_places("photos within 1 km of Tokyo")[1].radius_km == 1


TEXAS = PlaceFilter(city="Paris", region="Texas")


@pytest.mark.parametrize(
    "message, rest, place",
    [
        ("photos from Paris, Texas", "photos", TEXAS),
        ("dogs in Paris, TX at night", "dogs at night", TEXAS),
        ("photos from Portland, OR", "photos", PlaceFilter(city="Portland", region="Oregon")),
        ("near Paris, Texas", "", PlaceFilter(near="Paris", region="Texas")),
        ("photos from Paris", "photos", PlaceFilter(city="Paris", country="FR")),
    ],
)
def test_a_us_state_qualifies_a_city_in_requests(message, rest, place):
    assert take_places(message)[:2] == (rest, place)


def test_a_us_state_qualifies_a_city_in_the_filter_and_the_form_field():
    paris_tx = gazetteer().cities_of("Paris", None, "Texas")[0]
    assert paris_tx.label == "Paris, Texas, United States"
    # the LLM's filter {city: Paris, region: Texas}: Texas, not France
    assert TEXAS.resolve() == ("Paris, Texas, United States", {"place_id": {"$eq": paris_tx.id}})
    assert PlaceFilter(city="Paris", region="TX", country="US").resolve()[0] == "Paris, Texas, United States"
    assert TEXAS.place() == paris_tx
    near = PlaceFilter(near="Paris", region="Texas").resolve()
    assert near[0].startswith("within 25 km of Paris, Texas") and paris_tx.id in near[1]["place_id"]["$in"]
    for text in ("Paris, Texas", "Paris, TX", "paris, texas", "Paris, Texas, United States"):
        assert PlaceFilter.parse(text).resolve()[0] == "Paris, Texas, United States", text
    assert PlaceFilter.parse("Atlanta, GA").region == "Georgia"  # GA is Gabon too; Atlanta is in Georgia
    assert PlaceFilter.parse("Paris, Texas").text == "Paris, Texas"  # the form shows it and reads it back
    assert PlaceFilter.parse("not in Paris, Texas") == TEXAS.model_copy(update={"exclude": True})
    with pytest.raises(BadQuery, match="I don't know a place called 'Lisbon' in Texas"):
        PlaceFilter.parse("Lisbon, Texas")
    with pytest.raises(BadQuery, match="I don't know a place called 'Lisbon' in Texas"):
        PlaceFilter(city="Lisbon", region="Texas").resolve()
    with pytest.raises(BadQuery, match="regions are US states"):
        PlaceFilter(city="Paris", region="Texas", country="France").resolve()


def test_the_eval_checks_hit_labels_against_the_true_city_not_the_request():
    from picseek.evals.places import _same_name

    assert _same_name("Reykjavík", "Reykjavik") and _same_name("Cape Town", "cape town")
    assert not _same_name("Paris", "Lisbon") and not _same_name("Paris", None) and not _same_name(None, "")
