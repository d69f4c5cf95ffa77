"""Output diffs that understand content: pixels, float tolerance, tables."""

from __future__ import annotations

import json

import pytest

from mlnb.nbdiff import DiffOptions, compute_diff, loads, render_terminal
from mlnb.nbdiff._outputs import compare_html_tables, compare_image, compare_text
from tests.nbdiff.conftest import code, nb, png, result, stream


def test_images_compared_by_pixels_not_bytes() -> None:
    a = png((10, 20, 30))
    ch = compare_image("image/png", a, png((10, 20, 30), changed=25))
    assert ch is not None and ch["share"] == pytest.approx(0.25)
    assert "25.0% of pixels changed" in ch["summary"]
    # same pixels, different bytes (an extra PNG text chunk): equal
    import base64
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "matplotlib 9.9")
    buf = io.BytesIO()
    Image.open(io.BytesIO(base64.b64decode(a))).save(buf, format="PNG", pnginfo=info)
    other = base64.b64encode(buf.getvalue()).decode()
    assert other != a and compare_image("image/png", a, other) is None


def test_image_size_change_and_undecodable_image() -> None:
    ch = compare_image("image/png", png((1, 2, 3), (10, 10)), png((1, 2, 3), (20, 10)))
    assert ch["summary"] == "size 10x10 → 20x10"
    ch = compare_image("image/png", "bm90IGFuIGltYWdl", "YWxzbyBub3Q=")
    assert ch["share"] is None and "cannot decode" in ch["summary"]


def test_image_without_pillow_says_so(monkeypatch) -> None:
    import mlnb.nbdiff._outputs as outputs

    monkeypatch.setattr(outputs, "_pillow", False)
    ch = outputs.compare_image("image/png", png((1, 1, 1)), png((2, 2, 2)))
    assert "install Pillow" in ch["summary"]


def test_text_with_float_tolerance() -> None:
    assert compare_text("loss 0.12345 acc 0.9\n", "loss 0.12346 acc 0.9\n") is not None
    assert compare_text("loss 0.12345 acc 0.9\n", "loss 0.12346 acc 0.9\n", tol=1e-3) is None
    assert compare_text("loss 0.1\n", "LOSS 0.1\n", tol=1.0) is not None
    assert compare_text("a 1 2\n", "a 1\n", tol=10) is not None


def test_html_tables_compared_as_tables() -> None:
    def table(vals):
        rows = "".join(f"<tr><th>{i}</th><td>{v}</td></tr>" for i, v in enumerate(vals))
        return f"<div><style>.x{{}}</style><table><tr><th></th><th>a</th></tr>{rows}</table></div>"

    ch = compare_html_tables(table([1.0, 2.0, 3.0]), table([1.0, 2.5, 3.0]))
    assert ch["kind"] == "table" and ch["cells"] == [
        {"table": 0, "row": 2, "col": 1, "a": "2.0", "b": "2.5"}]
    assert compare_html_tables(table([1.0, 2.0]), table([1.0, 2.0000001]), tol=1e-3) is None
    ch = compare_html_tables(table([1, 2]), table([1, 2, 3]))
    assert "shape 3x2 → 4x2" in ch["summary"]
    # only the styling around the table changed: equal as a table
    assert compare_html_tables(table([1]), table([1]).replace(".x{}", ".y{}")) is None


def test_output_changes_in_a_notebook_diff() -> None:
    a = loads(json.dumps(nb(
        code("plot()", [{"output_type": "display_data", "metadata": {},
                         "data": {"image/png": png((0, 0, 0)), "text/plain": "<Figure 1>"}}], id="p"),
        code("print(loss)", [stream("loss 0.5000001\n")], id="t"),
        code("df", [result({"text/html": "<table><tr><td>1</td></tr></table>",
                            "text/plain": "   0\n0  1"})], id="d"))))
    b = json.loads(json.dumps(a))
    b["cells"][0]["outputs"][0]["data"] = {"image/png": png((0, 0, 0), changed=10),
                                           "text/plain": "<Figure 2>"}
    b["cells"][1]["outputs"][0]["text"] = "loss 0.5000002\n"
    b["cells"][2]["outputs"][0]["data"] = {"text/html": "<table><tr><td>2</td></tr></table>",
                                           "text/plain": "   0\n0  2"}
    d = compute_diff(a, b, DiffOptions(tolerance=1e-4))
    by_id = {c["id"]: c for c in d.cells}
    assert by_id["p"]["outputs"][0]["kind"] == "image"
    assert by_id["t"]["status"] == "unchanged"  # within tolerance
    assert by_id["d"]["outputs"][0]["kind"] == "table"
    out = render_terminal(d)
    assert "10.0% of pixels changed" in out and "[0,0] 1 → 2" in out
    # a rerun that only changed the PNG's bytes, not its pixels, is no change
    c = json.loads(json.dumps(a))
    c["cells"][0]["outputs"][0]["data"]["text/plain"] = "<Figure 3>"
    assert not compute_diff(a, c).changed
