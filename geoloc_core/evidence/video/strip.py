"""A video's keyframes as one small picture: the thumbnail of a report (HTML and PDF show one picture a file).

Up to six keyframes, spread over the clip's keyframes, on a 3 x 2 grid within ``max_side``, each with its
time written in its corner (numbers only: nothing from the file is drawn). Runs in the isolated worker,
like every decode of file bytes.
"""
from __future__ import annotations

import io

from PIL import Image, ImageDraw

from .reading import read_video

COLUMNS, ROWS = 3, 2


def filmstrip_jpeg(data: bytes, max_side: int, quality: int = 80) -> bytes:
    """The keyframes grid as JPEG bytes; raises ValueError with the video's own error when it has none."""
    reading = read_video(data)
    if reading.error or not reading.keyframes:
        raise ValueError(reading.error or "no keyframe could be decoded")
    frames = reading.keyframes
    count = min(len(frames), COLUMNS * ROWS)
    chosen = [frames[round(i * (len(frames) - 1) / max(1, count - 1))] for i in range(count)] if count > 1 else frames[:1]
    columns = min(COLUMNS, count)
    rows = (count + columns - 1) // columns
    cell = max_side // columns
    pictures = []
    for keyframe in chosen:
        with Image.open(io.BytesIO(keyframe.image)) as picture:
            picture = picture.convert("RGB")
            picture.thumbnail((cell - 4, cell - 4))
            pictures.append((keyframe.time_s, picture))
    height = max(p.height for _, p in pictures) + 4
    sheet = Image.new("RGB", (columns * cell, rows * height), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (time_s, picture) in enumerate(pictures):
        x, y = (index % columns) * cell + 2, (index // columns) * height + 2
        sheet.paste(picture, (x, y))
        label = f"{time_s:.1f} s"
        box = draw.textbbox((x + 3, y + 3), label)
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill="black")
        draw.text((x + 3, y + 3), label, fill="white")
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=quality)
    return out.getvalue()
