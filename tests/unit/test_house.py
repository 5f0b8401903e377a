"""The house rules that keep the dev tenant honest and the pages guarded."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_admin_core_never_imports_the_dev_tenant():
    for path in (ROOT / "admin_core").rglob("*.py"):
        assert "devtenant" not in imported_modules(path), path


def test_the_dev_tenant_never_imports_admin_core():
    for path in (ROOT / "devtenant").rglob("*.py"):
        assert "admin_core" not in imported_modules(path), path


def test_pages_import_only_admin_core_and_libraries():
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        assert not imported_modules(path) & {"devtenant", "tests", "auth0"}, path


def test_every_page_asserts_its_own_access_first():
    for path in (ROOT / "pages").glob("*.py"):
        tree = ast.parse(path.read_text())
        statements = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom | ast.Expr)]
        first = statements[0]
        assert isinstance(first, ast.Assign) and isinstance(first.value, ast.Call), path
        assert getattr(first.value.func, "id", None) == "require_access", path


def test_only_the_wrapper_talks_to_the_management_api_sdk():
    for path in (ROOT / "admin_core").rglob("*.py"):
        text = path.read_text()
        if "from auth0.management" in text or "import auth0.management" in text:
            assert path.name == "directory.py", path


SESSION_LAYER = {"auth.py", "runtime.py", "actions.py"}


def test_the_core_of_admin_core_imports_no_streamlit():
    """Settings, domain types, token checks, the audit store, overview figures and the SDK wrapper run
    (and are tested) without Streamlit: only the session layer and admin_core/ui may import it."""
    core = [
        path
        for path in (ROOT / "admin_core").rglob("*.py")
        if "ui" not in path.relative_to(ROOT / "admin_core").parts[:-1] and path.name not in SESSION_LAYER
    ]
    assert len(core) >= 8, core
    for path in core:
        assert "streamlit" not in imported_modules(path), path


def test_pages_read_top_to_bottom_as_layout():
    """A page's top level is calls in order (its parts are named functions): no loop, try or with there,
    and an `if` holds only calls."""
    for path in (ROOT / "pages").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            assert not isinstance(node, ast.For | ast.While | ast.Try | ast.With), (path, node.lineno)
            if isinstance(node, ast.If):
                for inner in [*node.body, *node.orelse]:
                    assert isinstance(inner, ast.Expr), (path, inner.lineno)


def test_one_pager_for_every_listing():
    """Previous / Next are drawn by admin_core.ui.pager alone: the pages call render_pager."""
    for path in (ROOT / "pages").glob("*.py"):
        labels = {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)}
        assert not labels & {"Previous", "Next"}, path
