"""QR codes of trace identifiers (segno): SVG for screens and print, PNG for anything that wants pixels."""
import io

import segno


def _code(data: str):
    # Level M survives a scuffed label; the data is our own URL, never user text.
    return segno.make(data, error="m")


def svg(data: str) -> bytes:
    out = io.BytesIO()
    _code(data).save(out, kind="svg", scale=4, border=4, xmldecl=True, svgns=True, title=data)
    return out.getvalue()


def png(data: str) -> bytes:
    out = io.BytesIO()
    _code(data).save(out, kind="png", scale=8, border=4)
    return out.getvalue()
