"""The toy scene world: procedurally drawn scenes whose contents are known exactly.

It is a test bed, not the product: only `evals/` and the toy model's training script may know its
vocabulary. Every scene is a pure function of (seed, index), so a gallery is reproducible.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

NOUNS = ("car", "house", "tree", "ball", "boat")
COLORS = ("red", "green", "blue", "yellow", "purple", "white", "black", "orange")
TIMES = ("day", "night", "sunset")
GROUNDS = ("grass", "water", "none")
SIZES = ("small", "large")
POSITIONS = ("left", "middle", "right")

RGB = {
    "red": (214, 32, 32),
    "green": (40, 170, 50),
    "blue": (30, 70, 220),
    "yellow": (250, 215, 30),
    "purple": (140, 50, 180),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "orange": (250, 130, 20),
}

# Phrasings for captions; training samples among them so paraphrased queries land.
NOUN_WORDS = {
    "car": ("car", "car", "automobile", "auto"),
    "house": ("house", "house", "home", "cottage"),
    "tree": ("tree",),
    "ball": ("ball", "ball", "sphere"),
    "boat": ("boat", "boat", "sailboat", "ship"),
}
COLOR_WORDS = {c: (c,) for c in COLORS} | {"purple": ("purple", "violet")}
SIZE_WORDS = {"small": ("small", "little", "tiny"), "large": ("large", "big", "huge")}
TIME_WORDS = {
    "day": ("during the day", "in daylight", "in the daytime", "on a sunny day"),
    "night": ("at night", "at nighttime", "after dark", "under the night sky"),
    "sunset": ("at sunset", "at dusk", "during sunset", "in the evening"),
}
GROUND_WORDS = {
    "grass": ("on grass", "on the grass", "on a lawn"),
    "water": ("on water", "by the water", "on the lake"),
    "none": ("",),
}


@dataclass(frozen=True)
class Thing:
    noun: str
    color: str
    size: str
    pos: str


@dataclass(frozen=True)
class Scene:
    file: str
    time: str
    ground: str
    objects: tuple[Thing, ...]
    moon: bool = False
    caption: str = field(default="")
    city: str | None = None  # with --gps: the real city whose position is in the file's EXIF ("" for a (0, 0) fix)
    gps: tuple[float, float] | None = None  # (lat, lon) written into EXIF
    sign: str | None = None  # with --text: the word drawn on a sign in the scene

    def to_json(self) -> dict:
        d = asdict(self)
        d["objects"] = [asdict(o) for o in self.objects]
        d.pop("moon")
        for k in ("city", "gps", "sign"):  # galleries without places or text keep the format they had
            if d[k] is None:
                d.pop(k)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Scene:
        objs = tuple(Thing(**o) for o in d["objects"])
        gps = tuple(d["gps"]) if d.get("gps") else None
        return cls(
            file=d["file"],
            time=d["time"],
            ground=d["ground"],
            objects=objs,
            caption=d["caption"],
            city=d.get("city"),
            gps=gps,
            sign=d.get("sign"),
        )


def sample_scene(seed: int, index: int) -> Scene:
    rng = random.Random(f"picseek-toy-{seed}-{index}")
    time = rng.choice(TIMES)
    ground = rng.choice(GROUNDS)
    n = rng.choice((1, 1, 2, 2, 2, 3))
    positions = rng.sample(POSITIONS, n) if n > 1 else [rng.choice(POSITIONS)]
    objects = tuple(
        Thing(rng.choice(NOUNS), rng.choice(COLORS), rng.choice(SIZES), p)
        for p in sorted(positions, key=POSITIONS.index)
    )
    moon = time == "night" and rng.random() < 0.5
    scene = Scene(f"scene_{index:05d}.jpg", time, ground, objects, moon)
    return Scene(scene.file, time, ground, objects, moon, canonical_caption(scene))


def canonical_caption(scene: Scene) -> str:
    """The plain, complete description: every object with its colour, the ground and the time of day."""
    parts = [f"a {o.size} {o.color} {o.noun}" for o in scene.objects]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    ground = GROUND_WORDS[scene.ground][0]
    return " ".join(w for w in (text, ground, TIME_WORDS[scene.time][0]) if w)


@dataclass(frozen=True)
class Said:
    """What a description states: each named object's (noun, colour or None, size or None), time, ground."""

    objects: tuple[tuple[str, str | None, str | None], ...]
    time: str | None = None
    ground: str | None = None

    def true_of(self, scene: Scene) -> bool:
        """Is every stated fact true of `scene`? (A partial description is true of many scenes.)"""
        if self.time and scene.time != self.time:
            return False
        if self.ground and scene.ground != self.ground:
            return False
        return all(
            any(o.noun == n and c in (None, o.color) and z in (None, o.size) for o in scene.objects)
            for n, c, z in self.objects
        )


def paraphrase(scene: Scene, rng: random.Random, partial: bool = False) -> str:
    """A randomly phrased description; `partial` may leave out objects, colours, sizes, ground or time."""
    return describe(scene, rng, partial)[0]


def describe(scene: Scene, rng: random.Random, partial: bool = False) -> tuple[str, Said]:
    """`paraphrase`, plus what the text states, so training knows which other scenes it also describes."""
    objs = list(scene.objects)
    rng.shuffle(objs)
    if partial and len(objs) > 1 and rng.random() < 0.6:
        objs = objs[: rng.randint(1, len(objs) - 1)]
    say_color = not partial or rng.random() < 0.7
    say_size = rng.random() < (0.2 if partial else 0.5)
    # People type "red cars" and "boat at night" as often as "a red car": partial phrasings drop the article or
    # use the plural, so such queries land on the scenes that hold the object.
    form = rng.choice(("a", "a", "plural", "bare")) if partial else "a"
    phrases = []
    for o in objs:
        words = [rng.choice(SIZE_WORDS[o.size])] if say_size else []
        if say_color:
            words.append(rng.choice(COLOR_WORDS[o.color]))
        noun = rng.choice(NOUN_WORDS[o.noun])
        words.append(noun + "s" if form == "plural" else noun)
        article = "" if form != "a" else ("an " if words[0][0] in "aeiou" else "a ")
        phrase = article + " ".join(words)
        if phrase not in phrases:
            phrases.append(phrase)
    text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    bits = [text]
    said_ground = said_time = None
    if not partial or rng.random() < 0.5:
        bits.append(rng.choice(GROUND_WORDS[scene.ground]))
        said_ground = scene.ground if scene.ground != "none" else None
    if not partial or rng.random() < 0.7:
        t = rng.choice(TIME_WORDS[scene.time])
        bits.insert(0, t[0].upper() + t[1:] + ",") if rng.random() < 0.2 else bits.append(t)
        said_time = scene.time
    said = Said(
        tuple((o.noun, o.color if say_color else None, o.size if say_size else None) for o in objs),
        said_time,
        said_ground,
    )
    return " ".join(b for b in bits if b), said


def twin(scene: Scene, rng: random.Random) -> Scene:
    """A hard negative: the same picture with one binding changed.

    Two objects swap colours (a red car and a blue ball become a blue car and a red ball), or one object becomes
    another noun or another colour. `render` draws it with the same layout, because the layout depends only on
    the file name.
    """
    objs = list(scene.objects)
    pairs = [
        (i, j)
        for i in range(len(objs))
        for j in range(i + 1, len(objs))
        if objs[i].color != objs[j].color and objs[i].noun != objs[j].noun
    ]
    kind = rng.choice(("swap", "noun", "color")) if pairs else rng.choice(("noun", "color"))
    if kind == "swap":
        i, j = rng.choice(pairs)
        objs[i], objs[j] = replace(objs[i], color=objs[j].color), replace(objs[j], color=objs[i].color)
    else:
        i = rng.randrange(len(objs))
        if kind == "noun":
            objs[i] = replace(objs[i], noun=rng.choice([n for n in NOUNS if n != objs[i].noun]))
        else:
            objs[i] = replace(objs[i], color=rng.choice([c for c in COLORS if c != objs[i].color]))
    out = replace(scene, objects=tuple(objs))
    return replace(out, caption=canonical_caption(out))


# --- drawing ---------------------------------------------------------------------------------------

SKY = {
    "day": ((110, 170, 235), (190, 225, 250)),
    "night": ((8, 12, 40), (30, 35, 80)),
    "sunset": ((120, 60, 140), (250, 150, 70)),
}
GROUND_RGB = {"grass": (70, 150, 60), "water": (40, 100, 170), "none": None}


def _shade(rgb: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(c * f))) for c in rgb)


def render(scene: Scene, size: int = 192, seed: int = 0) -> Image.Image:
    """Draw a scene; `seed` only moves incidental detail (jitter, stars), never a labelled attribute."""
    rng = random.Random(f"{scene.file}-{seed}")
    s = size / 192
    img = Image.new("RGB", (size, size))
    d = ImageDraw.Draw(img)
    top, bottom = SKY[scene.time]
    for y in range(size):
        t = y / (size - 1)
        d.line([(0, y), (size, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    horizon = int(size * rng.uniform(0.66, 0.72))
    if scene.time == "night":
        for _ in range(rng.randint(15, 40)):
            x, y = rng.uniform(0, size), rng.uniform(0, size * 0.6)
            d.point((x, y), fill=(230, 230, 200))
        if scene.moon:  # a crescent, so it never reads as a ball
            mx, my, r = rng.uniform(0.1, 0.9) * size, rng.uniform(0.08, 0.2) * size, 10 * s
            d.ellipse([mx - r, my - r, mx + r, my + r], fill=(240, 235, 200))
            d.ellipse([mx - r + 0.45 * r, my - r - 0.2 * r, mx + r + 0.45 * r, my + r - 0.2 * r], fill=top)
    elif scene.time == "sunset":  # a half-disc on the horizon, never a full circle
        sx, r = rng.uniform(0.15, 0.85) * size, 20 * s
        d.pieslice([sx - r, horizon - r, sx + r, horizon + r], 180, 360, fill=(255, 190, 80))
    light = {"day": 1.0, "sunset": 0.85, "night": 0.6}[scene.time]
    if GROUND_RGB[scene.ground]:
        g = _shade(GROUND_RGB[scene.ground], light)
        d.rectangle([0, horizon, size, size], fill=g)
        if scene.ground == "water":
            for y in range(horizon + 6, size, int(9 * s) or 1):
                x0 = rng.uniform(0, size * 0.6)
                d.line([(x0, y), (x0 + size * 0.3, y)], fill=_shade(g, 1.35), width=max(1, int(s)))
    centers = {"left": size * 0.2, "middle": size * 0.5, "right": size * 0.8}
    for o in scene.objects:
        cx = centers[o.pos] + rng.uniform(-4, 4) * s
        base = horizon + rng.uniform(4, 14) * s
        unit = (22 if o.size == "large" else 15) * s
        _draw_thing(d, o, cx, base, unit, light)
    return img.filter(ImageFilter.SMOOTH) if size >= 128 else img


def _draw_thing(d: ImageDraw.ImageDraw, o: Thing, cx: float, base: float, u: float, light: float) -> None:
    # Night dims the scene but keeps hue: colour words must still be true at night.
    col = _shade(RGB[o.color], 0.75 + 0.25 * light)
    line = (70, 70, 70) if o.color == "black" else (15, 15, 15)
    w = max(1, round(u / 12))
    if o.noun == "car":
        d.rectangle([cx - 1.35 * u, base - 0.9 * u, cx + 1.35 * u, base - 0.25 * u], fill=col, outline=line, width=w)
        d.polygon(
            [
                (cx - 0.9 * u, base - 0.9 * u),
                (cx - 0.5 * u, base - 1.5 * u),
                (cx + 0.6 * u, base - 1.5 * u),
                (cx + 1.0 * u, base - 0.9 * u),
            ],
            fill=col,
            outline=line,
        )
        d.rectangle([cx - 0.4 * u, base - 1.35 * u, cx + 0.5 * u, base - 0.95 * u], fill=(180, 210, 230))
        for wx in (cx - 0.95 * u, cx + 0.95 * u):
            d.ellipse(
                [wx - 0.35 * u, base - 0.6 * u, wx + 0.35 * u, base + 0.1 * u],
                fill=(25, 25, 25),
                outline=(160, 160, 160),
                width=w,
            )
    elif o.noun == "house":
        d.rectangle([cx - 1.1 * u, base - 1.8 * u, cx + 1.1 * u, base], fill=col, outline=line, width=w)
        roof = (120, 40, 30) if o.color != "red" else (90, 30, 20)
        d.polygon(
            [(cx - 1.4 * u, base - 1.8 * u), (cx, base - 2.9 * u), (cx + 1.4 * u, base - 1.8 * u)],
            fill=roof,
            outline=line,
        )
        d.rectangle([cx - 0.25 * u, base - 0.9 * u, cx + 0.25 * u, base], fill=(90, 55, 30))
        d.rectangle([cx + 0.45 * u, base - 1.4 * u, cx + 0.85 * u, base - 1.0 * u], fill=(200, 220, 240))
    elif o.noun == "tree":
        d.rectangle([cx - 0.22 * u, base - 1.3 * u, cx + 0.22 * u, base], fill=(110, 70, 35))
        d.ellipse([cx - 0.95 * u, base - 3.0 * u, cx + 0.95 * u, base - 1.1 * u], fill=col, outline=line, width=w)
    elif o.noun == "ball":
        r = 0.8 * u
        d.ellipse([cx - r, base - 2 * r, cx + r, base], fill=col, outline=line, width=w)
        d.ellipse([cx - 0.45 * r, base - 1.6 * r, cx - 0.1 * r, base - 1.25 * r], fill=_shade(col, 1.4))
    elif o.noun == "boat":
        d.polygon(
            [
                (cx - 1.35 * u, base - 0.8 * u),
                (cx + 1.35 * u, base - 0.8 * u),
                (cx + 1.0 * u, base),
                (cx - 1.0 * u, base),
            ],
            fill=col,
            outline=line,
        )
        d.line([(cx, base - 0.8 * u), (cx, base - 2.8 * u)], fill=(60, 40, 20), width=max(1, w))
        d.polygon(
            [(cx + 0.1 * u, base - 2.7 * u), (cx + 0.1 * u, base - 1.0 * u), (cx + 1.2 * u, base - 1.0 * u)],
            fill=(235, 235, 225),
            outline=line,
        )
    else:  # pragma: no cover - NOUNS is closed
        raise ValueError(o.noun)


# Real cities for --gps: (name as GeoNames spells it, country, latitude, longitude of the centre). Several share a
# country (Lisbon/Porto, Kyoto/Tokyo, Sydney/Melbourne) so country and city requests differ; Suva sits near the
# antimeridian.
CITIES = (
    ("Lisbon", "Portugal", 38.7223, -9.1393),
    ("Porto", "Portugal", 41.1496, -8.6110),
    ("Kyoto", "Japan", 35.0116, 135.7681),
    ("Tokyo", "Japan", 35.6895, 139.6917),
    ("Paris", "France", 48.8566, 2.3522),
    ("Sydney", "Australia", -33.8688, 151.2093),
    ("Melbourne", "Australia", -37.8136, 144.9631),
    ("Reykjavik", "Iceland", 64.1466, -21.9426),
    ("Cape Town", "South Africa", -33.9249, 18.4241),
    ("Suva", "Fiji", -18.1416, 178.4419),
)
NO_GPS_SHARE = 0.1  # scenes with no GPS at all
NULL_FIX_SHARE = 0.05  # scenes whose camera wrote (0, 0) for want of a fix
JITTER_KM = 1.0  # how far from the centre a photo may be taken (further, and Porto is Vila Nova de Gaia)
# Words drawn on signs with --text: shop signs and the like, 3 to 8 letters.
SIGN_WORDS = (
    "BAKERY", "HOTEL", "MUSEUM", "CAFE", "GARAGE", "LIBRARY", "MARKET", "STATION", "PIZZA", "BOOKS",
    "FLOWERS", "TAXI", "BANK", "CINEMA", "PHARMACY", "BAR", "THEATRE", "FISH", "GALLERY", "SCHOOL",
    "POLICE", "HARBOUR", "SUSHI", "TICKETS", "EXIT", "OPEN", "SALE", "BEACH", "PARKING", "TOYS",
)  # fmt: skip
SIGN_SHARE = 0.5  # scenes with a sign, with --text


def place_scene(scene: Scene, seed: int, index: int, gps: bool, text: bool) -> Scene:
    """The scene with a real city's position and/or a sign word, drawn from their own random stream so the scene's
    contents (and a model trained on them) are the same with or without them."""
    rng = random.Random(f"picseek-toy-place-{seed}-{index}")
    city = position = sign = None
    if gps:
        r = rng.random()
        if r < NULL_FIX_SHARE:
            city, position = "", (0.0, 0.0)
        elif r >= NULL_FIX_SHARE + NO_GPS_SHARE:
            name, _, lat, lon = rng.choice(CITIES)
            km = rng.uniform(0, JITTER_KM)
            angle = rng.uniform(0, 2 * math.pi)
            dlat = km * math.cos(angle) / 111.2
            dlon = km * math.sin(angle) / (111.2 * math.cos(math.radians(lat)))
            city, position = name, (round(lat + dlat, 6), round(lon + dlon, 6))
    if text and rng.random() < SIGN_SHARE:
        sign = rng.choice(SIGN_WORDS)
    return replace(scene, city=city, gps=position, sign=sign)


def _exif_gps(lat: float, lon: float) -> Image.Exif:
    """EXIF with a GPS block (degrees, minutes, seconds as rationals), as a camera writes it."""

    def dms(v: float) -> tuple[float, float, float]:
        v = abs(v)
        d = int(v)
        m = int((v - d) * 60)
        return (float(d), float(m), round((v - d - m / 60) * 3600, 4))

    exif = Image.Exif()
    exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}
    return exif


def draw_sign(img: Image.Image, word: str, seed: str) -> Image.Image:
    """A light sign with the word in dark capitals, in the sky, where no object of the scene is drawn."""
    from PIL import ImageFont

    rng = random.Random(seed)
    w, h = img.size
    font = ImageFont.load_default(size=max(10, int(h * 0.14)))
    d = ImageDraw.Draw(img)
    left, top, right, bottom = d.textbbox((0, 0), word, font=font)
    tw, th = right - left, bottom - top
    pad = max(3, int(h * 0.03))
    x = rng.uniform(pad, max(pad, w - tw - 3 * pad))
    y = rng.uniform(pad, max(pad, h * 0.35 - th))
    d.rectangle([x - pad, y - pad, x + tw + pad, y + th + pad], fill=(240, 236, 220), outline=(60, 40, 30))
    d.text((x - left, y - top), word, fill=(25, 20, 20), font=font)
    return img


def make_gallery(
    out: Path,
    n: int,
    seed: int,
    size: int = 192,
    progress: bool = True,
    gps: bool = False,
    text: bool = False,
) -> list[Scene]:
    """Render `n` scenes into `out` as JPEGs plus `scenes.jsonl`; returns the scenes. `gps`: write real cities'
    positions into EXIF (some scenes get none, some a (0, 0) fix); `text`: draw a word on a sign in half of them."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    scenes = [sample_scene(seed, i) for i in range(n)]
    if gps or text:
        scenes = [place_scene(sc, seed, i, gps, text) for i, sc in enumerate(scenes)]
    for sc in tqdm(scenes, desc="rendering scenes", unit="img", disable=not progress):
        im = render(sc, size)
        if sc.sign:
            im = draw_sign(im, sc.sign, f"{sc.file}-sign")
        extra = {"exif": _exif_gps(*sc.gps).tobytes()} if sc.gps else {}
        im.save(out / sc.file, quality=92, **extra)
    with open(out / "scenes.jsonl", "w") as f:
        for sc in scenes:
            f.write(json.dumps(sc.to_json()) + "\n")
    return scenes


def load_scenes(folder: Path) -> list[Scene]:
    with open(Path(folder) / "scenes.jsonl") as f:
        return [Scene.from_json(json.loads(line)) for line in f if line.strip()]


def relevant(
    scene: Scene,
    noun: str | None = None,
    color: str | None = None,
    time: str | None = None,
    ground: str | None = None,
    size: str | None = None,
    exclude_noun: str | None = None,
) -> bool:
    """Exact ground truth: does the scene hold an object matching all the given attributes?"""
    if time and scene.time != time:
        return False
    if ground and scene.ground != ground:
        return False
    if exclude_noun and any(o.noun == exclude_noun for o in scene.objects):
        return False
    if not (noun or color or size):
        return True
    return any(
        (not noun or o.noun == noun) and (not color or o.color == color) and (not size or o.size == size)
        for o in scene.objects
    )
