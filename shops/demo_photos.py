"""Demo photos: believable produce pictures drawn by Pillow for the demo data, nothing downloaded.

A keyword of the label (Chinese or English, from a title or a category slug) picks a shape and the
produce's colours; a seeded random generator lays a loose pile of shaded fruit on a soft background,
then adds texture and sensor noise so the JPEG (and its thumbnails) compress like a real photo.
The same label and seed always give the same picture.
"""
import io
import random
import zlib

from django.core.files.base import ContentFile
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

# Keywords (Chinese and English, in titles or category slugs) -> (shape, colours of the produce).
_PRODUCE_LOOKS = [
    (("apple", "苹果"), "round", [(178, 28, 36), (200, 52, 40), (214, 160, 60), (150, 190, 70)]),
    (("pear", "梨"), "pear", [(214, 196, 110), (196, 180, 90), (170, 160, 80)]),
    (("orange", "citrus", "橙", "柑", "橘", "柚"), "round", [(240, 140, 20), (236, 120, 16), (250, 170, 40)]),
    (("peach", "stone", "桃", "李", "杏"), "round", [(240, 150, 130), (226, 110, 100), (250, 200, 120)]),
    (("berr", "莓", "葡萄", "grape"), "small", [(120, 20, 60), (60, 30, 90), (190, 30, 50)]),
    (("kiwi", "猕猴桃"), "oval", [(130, 100, 60), (150, 120, 70)]),
    (("tomato", "番茄", "西红柿"), "round", [(210, 40, 30), (226, 60, 40), (190, 30, 30)]),
    (("cucumber", "黄瓜", "gourd", "瓜"), "long", [(60, 110, 40), (80, 130, 50)]),
    (("eggplant", "茄"), "long", [(80, 30, 90), (60, 20, 70)]),
    (("pepper", "椒"), "oval", [(200, 30, 20), (60, 140, 40), (240, 190, 30)]),
    (("leaf", "green", "菜", "tea", "茶"), "leaf", [(70, 140, 50), (90, 160, 60), (50, 110, 40)]),
    (("potato", "root", "薯", "土豆", "萝卜", "姜"), "oval", [(190, 150, 100), (170, 130, 90), (220, 200, 180)]),
    (("egg", "蛋"), "egg", [(236, 222, 200), (214, 180, 140), (244, 238, 228)]),
    (("mushroom", "菇", "菌"), "round", [(150, 110, 70), (200, 180, 150), (120, 90, 60)]),
    (("rice", "米", "grain", "flour", "面"), "small", [(240, 236, 224), (230, 220, 190)]),
    (("nut", "核桃", "栗", "dried", "干"), "round", [(150, 100, 50), (120, 80, 40), (180, 130, 70)]),
    (("honey", "蜜", "oil", "油"), "jar", [(220, 150, 30), (200, 120, 20)]),
]
_BACKGROUNDS = [
    ((222, 200, 160), (150, 110, 70)),   # light wood table
    ((200, 190, 170), (120, 105, 85)),   # linen on a bench
    ((180, 200, 150), (70, 100, 50)),    # grass and leaves
    ((210, 180, 130), (110, 80, 40)),    # woven basket
    ((230, 225, 215), (170, 165, 150)),  # pale market stall
]


def _look_for(label: str, rng: random.Random) -> tuple[str, list[tuple[int, int, int]]]:
    text = (label or "").lower()
    for keywords, shape, colours in _PRODUCE_LOOKS:
        if any(k in text for k in keywords):
            return shape, colours
    _, shape, colours = rng.choice(_PRODUCE_LOOKS)
    return shape, colours


def _shaded_blob(size: tuple[int, int], colour: tuple[int, int, int], rng: random.Random) -> Image.Image:
    """One fruit: a solid colour, darker towards the lower right, with a soft highlight."""
    w, h = size
    # radial_gradient is 0 in the centre, 255 at the edge; shifting it up-left moves the light there.
    shade = Image.radial_gradient("L").resize((w * 2, h * 2)).crop((w // 3, h // 3, w // 3 + w, h // 3 + h))
    varied = tuple(max(0, min(255, c + rng.randint(-18, 18))) for c in colour)
    base = Image.new("RGB", (w, h), varied)
    dark = Image.new("RGB", (w, h), tuple(int(c * 0.45) for c in varied))
    body = Image.composite(dark, base, shade.point(lambda v: int(v * 0.85)))
    highlight = Image.radial_gradient("L").resize((w // 3 + 1, h // 3 + 1))
    glow = Image.new("RGB", highlight.size, (255, 255, 255))
    body.paste(glow, (w // 5, h // 6), ImageOps.invert(highlight).point(lambda v: int(max(0, v - 120) * 0.9)))
    return body


def _blob_mask(size: tuple[int, int], shape: str) -> Image.Image:
    w, h = size
    scale = 3  # draw large and shrink, for smooth (antialiased) edges
    mask = Image.new("L", (w * scale, h * scale), 0)
    draw = ImageDraw.Draw(mask)
    box = (0, 0, w * scale - 1, h * scale - 1)
    if shape == "pear":
        draw.ellipse((0, h * scale // 3, w * scale - 1, h * scale - 1), fill=255)
        draw.ellipse((w * scale // 5, 0, w * scale * 4 // 5, h * scale * 2 // 3), fill=255)
    elif shape == "leaf":
        draw.ellipse(box, fill=255)
        draw.line((w * scale // 2, 0, w * scale // 2, h * scale), fill=170, width=max(3, w * scale // 40))
    elif shape == "jar":
        draw.rounded_rectangle(box, radius=w * scale // 6, fill=255)
    else:
        draw.ellipse(box, fill=255)
    return mask.resize((w, h), Image.Resampling.LANCZOS)


def demo_photo(label: str, seed: int, size: tuple[int, int] = (1200, 900)) -> ContentFile:
    """A believable produce photo, drawn by Pillow: a soft background, shaded fruit, sensor noise.

    The same label and seed always give the same picture; nothing is downloaded.
    """
    rng = random.Random(zlib.crc32(f"{label}|{seed}".encode()))
    width, height = size
    shape, colours = _look_for(label, rng)
    top, bottom = rng.choice(_BACKGROUNDS)
    gradient = Image.linear_gradient("L").resize((width, height))
    photo = ImageOps.colorize(gradient, top, bottom).convert("RGB")
    # A blurred band of light across the table, as from a window.
    light = Image.new("L", (width, height), 0)
    ImageDraw.Draw(light).ellipse((-width // 3, -height // 2, width, height // 2), fill=70)
    photo = Image.composite(Image.new("RGB", photo.size, (255, 250, 235)), photo,
                            light.filter(ImageFilter.GaussianBlur(width // 12)))

    count = {"small": rng.randint(16, 26), "leaf": rng.randint(8, 12)}.get(shape, rng.randint(5, 9))
    unit = min(width, height)
    base_size = {"small": unit // 8, "leaf": unit // 3}.get(shape, unit // 4)
    # Produce lies in a loose pile around one spot, as it would on a stall.
    centre_x, centre_y = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.5, 0.65)
    shadows = Image.new("L", (width, height), 0)
    placed = []
    for _i in range(count):
        w = int(base_size * rng.uniform(0.85, 1.2))
        h = {"long": int(w * 0.55), "egg": int(w * 1.25), "oval": int(w * 0.78), "pear": int(w * 1.3),
             "leaf": int(w * 0.6), "jar": int(w * 1.3)}.get(shape, int(w * rng.uniform(0.9, 1.0)))
        if shape == "long":
            w = int(w * 2.2)
        x = int(min(max(rng.gauss(centre_x, width * 0.18) - w / 2, -w / 4), width - w * 3 / 4))
        y = int(min(max(rng.gauss(centre_y, height * 0.13) - h / 2, height * 0.1), height - h * 3 / 4))
        placed.append((y, x, w, h, rng.choice(colours)))
        ImageDraw.Draw(shadows).ellipse((x + w // 10, y + h * 3 // 4, x + w + w // 8, y + h + h // 6), fill=120)
    photo = Image.composite(Image.new("RGB", photo.size, (40, 30, 20)), photo,
                            shadows.filter(ImageFilter.GaussianBlur(unit // 40)))
    for y, x, w, h, colour in sorted(placed):  # back to front
        body, mask = _shaded_blob((w, h), colour, rng), _blob_mask((w, h), shape)
        if shape == "leaf":
            angle = rng.uniform(-40, 40)
            body, mask = body.rotate(angle, resample=Image.Resampling.BICUBIC), mask.rotate(angle)
        photo.paste(body, (x, y), mask)

    # Softness, then texture at several scales (skin, grain, dust) and sensor noise, so the file
    # compresses like a real photo, thumbnails included. Seeded, unlike Image.effect_noise.
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    for step, spread, mode in ((1, 10, "RGB"), (1, 26, "L"), (3, 30, "L"), (9, 30, "L")):
        small = (max(1, width // step), max(1, height // step))
        layer = Image.frombytes(mode, small, rng.randbytes(small[0] * small[1] * len(mode)))
        layer = layer.resize((width, height), Image.Resampling.BICUBIC) if step > 1 else layer
        layer = layer.point(lambda v, s=spread: 128 - s // 2 + v * s // 255).convert("RGB")
        photo = ImageChops.add(photo, layer, 1.0, -128)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=85, optimize=True)
    slug = "".join(c for c in (label or "photo").lower() if c.isascii() and c.isalnum())[:20] or "produce"
    return ContentFile(buffer.getvalue(), name=f"{slug}-{seed}.jpg")
