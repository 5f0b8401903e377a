"""The export's file handling, without Auth0: Auth0's file rewritten for the person, line by line."""

from __future__ import annotations

import gzip

from admin_core.audit import Actor
from admin_core.exports import ExportRun, rewrite
from bench import report

CSV = 'name,email,user_id\n=HYPERLINK("x"),a@example.org,auth0|1\n"Ada, Lovelace",+1@example.org,auth0|2\n'


def test_a_gzip_csv_is_guarded_cell_by_cell_and_stays_gzip(tmp_path):
    source, target = tmp_path / "in.gz", tmp_path / "out.gz"
    source.write_bytes(gzip.compress(CSV.encode()))
    assert rewrite(source, target, format="csv") == 2
    text = gzip.decompress(target.read_bytes()).decode()
    assert text.splitlines() == [
        "name,email,user_id",
        '"\'=HYPERLINK(""x"")",a@example.org,auth0|1',
        '"Ada, Lovelace",\'+1@example.org,auth0|2',
    ]


def test_a_file_someone_already_decompressed_is_read_as_plain_text(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.gz"
    source.write_text(CSV)
    assert rewrite(source, target, format="csv") == 2
    assert gzip.decompress(target.read_bytes()).decode().startswith("name,email,user_id\n")


def test_json_lines_are_counted_and_kept(tmp_path):
    source, target = tmp_path / "in.gz", tmp_path / "out.gz"
    source.write_bytes(gzip.compress(b'{"user_id":"a"}\n\n{"user_id":"b"}'))
    assert rewrite(source, target, format="json") == 2
    assert gzip.decompress(target.read_bytes()) == b'{"user_id":"a"}\n{"user_id":"b"}\n'


def test_the_file_name_says_what_was_exported_and_is_safe():
    actor = Actor(sub="auth0|me")
    assert ExportRun(run_id="r", actor=actor, format="csv", connection=None).file_name == "users.csv.gz"
    odd = ExportRun(run_id="r", actor=actor, format="json", connection="../a b/c")
    assert odd.file_name == "users-.._a_b_c.json.gz" and "/" not in odd.file_name


def test_the_bench_states_the_export_target_with_its_margin():
    results = {"sizes": {}, "export": {"size": 100_000, "growth_mb": 12.5, "users_in_file": 100_003,
               "file_mb": 3.2, "management_requests": 9, "requests": {"GET /user-exports/{job}/{file}": 1}}}  # fmt: skip
    [verdict] = report.targets(results)
    assert verdict["met"] and verdict["limit"] == 50.0
    assert verdict["margin"].startswith("12.5 MB (+37.5 MB)")
