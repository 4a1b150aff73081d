"""The report's blocks as Markdown (figures linked from figures/) and as one standalone HTML
page (figures embedded as data URIs, styles inline: nothing else to ship with it).

A block is a tuple: ("h", level, text), ("p", text), ("ul", [text, ...]),
("table", headers, rows), ("figure", name, caption).
"""

from __future__ import annotations

import base64
import html
from typing import Callable, Sequence

CSS = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#111}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #bbb;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#eee}figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.9rem;color:#333;max-width:60rem}li{margin:.2rem 0}"""


def _md_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[tuple], figure_file: Callable[[str], str]) -> str:
    """Markdown of the blocks; `figure_file(name)` gives a figure's path relative to report.md."""
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            out.append("#" * b[1] + " " + b[2])
        elif kind == "p":
            out.append(b[1])
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in b[1]))
        elif kind == "table":
            headers, rows = b[1], b[2]
            lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
                     "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "figure":
            out.append(f"![{b[2].split('.')[0]}]({figure_file(b[1])})\n\n*{b[2]}*")
    return "\n\n".join(out) + "\n"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_block(b: tuple, figure_svg: Callable[[str], bytes]) -> str:
    kind = b[0]
    if kind == "h":
        return f"<h{b[1]}>{_e(b[2])}</h{b[1]}>"
    if kind == "p":
        return f"<p>{_e(b[1])}</p>"
    if kind == "ul":
        return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in b[1]) + "</ul>"
    if kind == "table":
        head = "".join(f"<th>{_e(h)}</th>" for h in b[1])
        body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in b[2])
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if kind == "figure":
        data = base64.b64encode(figure_svg(b[1])).decode("ascii")
        return (f'<figure><img alt="{_e(b[2].split(".")[0])}" src="data:image/svg+xml;base64,{data}">'
                f"<figcaption>{_e(b[2])}</figcaption></figure>")
    raise ValueError(f"unknown report block {kind!r}")


def to_html(blocks: Sequence[tuple], title: str, figure_svg: Callable[[str], bytes]) -> str:
    """One self-contained HTML page; `figure_svg(name)` gives a figure's SVG bytes to embed."""
    body = "\n".join(_html_block(b, figure_svg) for b in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n")
