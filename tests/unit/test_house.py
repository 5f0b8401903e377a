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


# jobrunner.py: bulk jobs run on threads started from a session (a click), with the process-wide caches of
# runtime and the audited changes of actions; it keeps state and draws nothing (admin_core/ui/jobs.py does).
SESSION_LAYER_FILES = {"auth.py", "runtime.py", "actions.py", "jobrunner.py"}


def test_the_core_of_admin_core_imports_no_streamlit():
    """Settings, domain types, token checks, the audit store, overview figures and the SDK wrapper run
    (and are tested) without Streamlit: only the session layer and admin_core/ui may import it."""
    core = [
        path
        for path in (ROOT / "admin_core").rglob("*.py")
        if "ui" not in path.relative_to(ROOT / "admin_core").parts[:-1]
        and path.name not in SESSION_LAYER_FILES
    ]
    assert len(core) >= 8, core
    for path in core:
        assert "streamlit" not in imported_modules(path), path


def test_the_core_and_the_sdk_wrapper_import_nothing_above_them():
    """The core (and admin_core/auth0/) may not reach up into the session layer or the UI: a change that
    needs the session (the identity, the caches, the audit trail of an action) belongs in actions.py."""
    above = {
        "admin_core.auth",
        "admin_core.runtime",
        "admin_core.actions",
        "admin_core.jobrunner",
        "admin_core.ui",
    }
    core = [
        path
        for path in (ROOT / "admin_core").rglob("*.py")
        if "ui" not in path.relative_to(ROOT / "admin_core").parts[:-1]
        and path.name not in SESSION_LAYER_FILES
    ]
    for path in core:
        tree = ast.parse(path.read_text())
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets.add(node.module)
                targets |= {f"{node.module}.{alias.name}" for alias in node.names}
        reached = sorted(t for t in targets if any(t == a or t.startswith(a + ".") for a in above))
        assert not reached, (str(path.relative_to(ROOT)), reached)


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


def _is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING"
    )


def _imports_anywhere(tree: ast.AST):
    """Every import in the module, function-local ones too (they are cycles put off, not gone); imports
    for the type checker only (`if TYPE_CHECKING:`) never run and do not count."""
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking_block(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports_anywhere(node)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def admin_core_import_graph() -> dict[str, set[str]]:
    """admin_core's modules and the admin_core modules each one imports (a package's import counts as an
    import of its `__init__`)."""
    paths = {_module_name(p): p for p in (ROOT / "admin_core").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports_anywhere(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names}
        edges = set()
        for target in targets:
            parts = target.split(".")
            for end in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                candidate = ".".join(parts[:end])
                if candidate in paths and candidate != name:
                    edges.add(candidate)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in stack:
            return [*stack[stack.index(node) :], node]
        if node in done:
            return None
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if cycle := visit(target):
                return cycle
        stack.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        if cycle := visit(node):
            return cycle
    return None


def test_admin_core_has_no_import_cycle():
    """Counting function-local imports: a cycle they hide still makes import order matter."""
    graph = admin_core_import_graph()
    assert "admin_core.auth" in graph and graph["admin_core.auth"], "the graph found no modules"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


SESSION_LAYER = (
    "admin_core/auth.py",
    "admin_core/runtime.py",
    "admin_core/actions.py",
    "admin_core/jobrunner.py",
)


# What the session layer may use of Streamlit: state, caches, the request, and control of the run.
# Everything that draws (st.error, st.button, st.columns, ...) belongs in admin_core/ui.
SESSION_STREAMLIT = {
    "session_state",
    "rerun",
    "stop",
    "cache_resource",
    "cache_data",
    "context",
    "query_params",
    "switch_page",
}


def _streamlit_uses(tree: ast.AST) -> set[str]:
    """The names a module uses of the `streamlit` package: `st.x` attributes and `from streamlit import x`."""
    aliases = {"streamlit"}
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "streamlit":
                    aliases.add(alias.asname or "streamlit")
                elif alias.name.startswith("streamlit."):
                    used.add(alias.name.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "streamlit":
                used |= {alias.name for alias in node.names}
            elif node.module.startswith("streamlit."):
                used.add(node.module.split(".")[1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            used.add(node.attr)
    return used


def session_layer_drawing(path: Path) -> list[str]:
    """What in this session-layer module draws or reaches into the UI package (empty: nothing)."""
    tree = ast.parse(path.read_text())
    found = [f"st.{name}" for name in sorted(_streamlit_uses(tree) - SESSION_STREAMLIT - {"runtime"})]
    for node in _imports_anywhere(tree):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        found += [f"import {m}" for m in modules if m == "admin_core.ui" or m.startswith("admin_core.ui.")]
        if isinstance(node, ast.ImportFrom) and node.module == "admin_core":
            found += [f"import admin_core.{a.name}" for a in node.names if a.name == "ui"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "authorize_button":
            found.append("streamlit-oauth's authorize_button (a component: UI)")
    return found


def test_the_session_layer_draws_nothing():
    """auth, runtime and actions keep state, caches and audited changes; admin_core/ui draws and calls them."""
    for name in SESSION_LAYER:
        assert session_layer_drawing(ROOT / name) == [], name


def test_the_drawing_finder_sees_a_drawing(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import streamlit as st\nfrom admin_core.ui import chrome\n"
        "def f():\n    st.session_state['x'] = 1\n    st.error('no')\n"
    )
    assert session_layer_drawing(module) == ["st.error", "import admin_core.ui"]


def _class_names_outside_log_lines(tree: ast.AST) -> list[int]:
    """Lines where `type(x).__name__` is used other than as an argument of a `log.<level>(...)` call."""
    found: list[int] = []

    def visit(node: ast.AST, in_log: bool) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            in_log = in_log or (isinstance(owner, ast.Name) and owner.id in ("log", "logger", "logging"))
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "__name__"
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "type"
            and not in_log
        ):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, in_log)

    visit(tree, False)
    return found


def test_no_class_name_reaches_a_person_only_the_server_log():
    """Unexpected errors become a sentence for the person (and the audit log) and a log line for us."""
    for path in [*(ROOT / "admin_core").rglob("*.py"), *(ROOT / "pages").glob("*.py")]:
        assert _class_names_outside_log_lines(ast.parse(path.read_text())) == [], path


def test_the_class_name_finder_sees_one_outside_a_log_line():
    tree = ast.parse("log.warning('%s', type(e).__name__)\nmessage = f'failed: {type(e).__name__}'\n")
    assert _class_names_outside_log_lines(tree) == [2]
