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


def full_imports(path: Path) -> set[str]:
    """Every absolute module a file imports, dotted in full (`auth0.management.core.api_error`)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def imports_any(path: Path, *packages: str) -> set[str]:
    return {
        name for name in full_imports(path) if any(name == p or name.startswith(p + ".") for p in packages)
    }


WRAPPER = ROOT / "admin_core" / "auth0"
SDK = ("auth0.management", "auth0.authentication")


def test_only_the_wrapper_talks_to_the_management_api_sdk():
    """Only `admin_core/auth0/` imports the Management API SDK or its token client."""
    for path in (ROOT / "admin_core").rglob("*.py"):
        if WRAPPER not in path.parents:
            assert not imports_any(path, *SDK), path


def test_the_domain_and_query_modules_import_neither_streamlit_nor_the_sdk():
    for name in ("domain.py", "query.py"):
        path = ROOT / "admin_core" / name
        assert not imports_any(path, "streamlit", "auth0", "admin_core.auth0", "httpx"), path


def test_ui_pages_and_overview_take_their_types_from_the_domain_not_the_wrapper():
    paths = [*(ROOT / "admin_core" / "ui").rglob("*.py"), *(ROOT / "pages").glob("*.py")]
    for path in [*paths, ROOT / "admin_core" / "overview.py"]:
        assert not imports_any(path, "admin_core.auth0"), path


def test_nothing_reaches_into_the_sdks_private_client():
    """Rate headers come through the `httpx_client=` the wrapper hands the SDK, not its internals."""
    for path in (ROOT / "admin_core").rglob("*.py"):
        assert "_client_wrapper" not in path.read_text(), path


def test_the_search_cap_is_explained_in_one_place():
    """Every "only the first 1,000 results" a person reads comes from `domain.search_cap_message`."""
    for path in [*(ROOT / "admin_core").rglob("*.py"), *(ROOT / "pages").glob("*.py")]:
        if path.name == "domain.py":
            continue
        text = path.read_text()
        assert "first 1,000 of" not in text, path
        assert "only shows the first" not in text and "shows only the first" not in text, path


def opens_a_quote(text: object) -> bool:
    """A literal ending in a double quote, as in `field:"{value}"` (an HTML attribute `href="` is not)."""
    return isinstance(text, str) and text.endswith('"') and not text.endswith('="')


def test_one_way_to_quote_a_lucene_phrase():
    """A quoted search value is built by `query.phrase`, nowhere by hand (f-string or `'"' + ...`)."""
    for path in (ROOT / "admin_core").rglob("*.py"):
        if path.name == "query.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            pairs = []
            if isinstance(node, ast.JoinedStr):
                pairs = zip(node.values, node.values[1:], strict=False)
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                pairs = [(node.left, node.right)]
            for before, after in pairs:
                if isinstance(before, ast.Constant) and not isinstance(after, ast.Constant):
                    assert not opens_a_quote(before.value), (path, node.lineno)
