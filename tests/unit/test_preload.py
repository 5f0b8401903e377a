"""The sign-in screen's preload of the signed-in page's widget code (admin_core.ui.preload, issue 19)."""

from __future__ import annotations

import json
import re

from admin_core.ui import preload


def test_every_listed_element_has_exactly_one_chunk_in_the_installed_streamlit():
    """A Streamlit upgrade that renames or splits a chunk fails here, not silently in a person's browser."""
    files = preload.chunk_files()
    assert len(files) == len(preload.SIGNED_IN_ELEMENTS), (files, preload.SIGNED_IN_ELEMENTS)
    for name, file in zip(preload.SIGNED_IN_ELEMENTS, files, strict=True):
        assert re.fullmatch(rf"{name}\.[\w-]+\.js", file), (name, file)
        assert (preload.STATIC_JS / file).is_file()


def test_a_name_without_exactly_one_chunk_is_left_out(tmp_path):
    for name in ("Button.AAA.js", "Button.BBB.js", "Toast.CCC.js", "ToastExtra.DDD.js"):
        (tmp_path / name).write_text("")
    assert preload.chunk_files(("Button", "Toast", "Missing"), tmp_path) == ("Toast.CCC.js",)
    assert preload.chunk_files(("Button",), tmp_path / "nowhere") == ()


def test_the_script_carries_only_the_file_names_and_imports_them_next_to_streamlits_main_script():
    script = preload._script(("Button.CORxUu4r.js", "Toast.C7MWt786.js"))
    assert script.startswith("<script>") and script.endswith("</script>")
    assert json.dumps(["Button.CORxUu4r.js", "Toast.C7MWt786.js"]) in script
    assert "static/js/index." in script and "import(" in script
