"""The metadata and profile checks made before anything reaches Auth0 (admin_core.metadata)."""

from __future__ import annotations

import pytest

from admin_core.metadata import (
    MERGE_RULE,
    METADATA_MAX_BYTES,
    MetadataInvalid,
    ProfileInvalid,
    check_profile_field,
    diff,
    merge,
    parse,
    patch_body,
    prepare,
    prepare_profile,
)


def test_a_syntax_error_says_where_in_words():
    with pytest.raises(MetadataInvalid) as err:
        parse('{\n  "a": 1,\n  "b": \n}', field="user_metadata")
    assert "not valid JSON" in err.value.message and "line 4, column 1" in err.value.message
    assert "Nothing was sent" in err.value.message


@pytest.mark.parametrize(("text", "kind"), [("[1]", "a list"), ('"x"', "a text"), ("3", "a number")])
def test_metadata_must_be_an_object(text, kind):
    with pytest.raises(MetadataInvalid) as err:
        parse(text, field="app_metadata")
    assert "app metadata must be a JSON object" in err.value.message and kind in err.value.message


def test_an_empty_editor_means_no_metadata():
    assert parse("  \n") == {}


def test_the_diff_lists_added_changed_and_removed_top_level_keys():
    old = {"plan": "free", "gone": 1, "same": {"a": 1}, "nested": {"a": 1, "b": 2}}
    new = {"plan": "gold", "same": {"a": 1}, "nested": {"a": 1}, "fresh": True}
    changes = {c.key: c for c in diff(old, new)}
    assert set(changes) == {"plan", "gone", "nested", "fresh"}
    assert changes["gone"].kind == "removed" and "sent as null" in changes["gone"].sentence()
    assert changes["fresh"].sentence() == "add fresh = true"
    assert changes["plan"].sentence() == 'change plan from "free" to "gold"'


def test_the_body_sends_only_changes_with_null_for_removed_keys_and_whole_nested_objects():
    old = {"plan": "free", "gone": 1, "same": 2, "nested": {"a": 1, "b": 2}}
    new = {"plan": "gold", "same": 2, "nested": {"a": 1}}
    body = patch_body(old, new)
    assert body == {"plan": "gold", "gone": None, "nested": {"a": 1}}
    assert merge(old, body) == new  # what Auth0 makes of it is what the admin typed


def test_the_editor_says_how_auth0_merges():
    assert "top level" in MERGE_RULE and "null" in MERGE_RULE


@pytest.mark.parametrize("key", ["preference.color", "a$b"])
def test_dot_and_dollar_in_key_names_are_refused_before_the_call_at_any_depth(key):
    for text in (f'{{"{key}": 1}}', f'{{"ok": {{"{key}": 1}}}}', f'{{"ok": [{{"{key}": 1}}]}}'):
        with pytest.raises(MetadataInvalid) as err:
            prepare("user_metadata", shown={}, text=text)
        assert "dot (.) or a dollar sign ($)" in err.value.message


def test_reserved_fields_are_refused_in_app_metadata_only():
    with pytest.raises(MetadataInvalid) as err:
        prepare("app_metadata", shown={}, text='{"email": "x@example.com"}')
    assert "email" in err.value.message
    assert prepare("user_metadata", shown={}, text='{"email": "x@example.com"}').body == {
        "email": "x@example.com"
    }


def test_a_removed_reserved_key_is_not_refused():
    """An old key Auth0 kept anyway can be removed (sent as null)."""
    edit = prepare("app_metadata", shown={"email": "old"}, text="{}")
    assert edit.body == {"email": None}


def test_the_16_mb_limit_counts_the_merged_result():
    half = "x" * (METADATA_MAX_BYTES // 2)
    with pytest.raises(MetadataInvalid) as err:
        prepare("user_metadata", shown={"a": half}, text=f'{{"a": "{half}", "b": "{half}"}}')
    assert "16 MB" in err.value.message
    assert prepare("user_metadata", shown={"a": half}, text=f'{{"b": "{half[:-100]}"}}').body["a"] is None


def test_no_change_gives_an_empty_body():
    edit = prepare("user_metadata", shown={"a": 1}, text='{ "a": 1 }')
    assert edit.body == {} and edit.changes == ()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "n" * 301, "at most 300"),
        ("given_name", "g" * 151, "at most 150"),
        ("picture", "javascript:alert(1)", "full web address"),
        ("picture", "https://exa mple.com/x.png", "full web address"),
        ("email", "not-an-email", "email address like"),
        ("email", "", "email address like"),
        ("phone_number", "0123", "international form"),
    ],
)
def test_profile_fields_are_checked_before_sending(field, value, words):
    with pytest.raises(ProfileInvalid) as err:
        check_profile_field(field, value)
    assert words in err.value.message and err.value.field == field


def test_profile_values_are_tidied_and_blank_unsets():
    assert check_profile_field("name", "  Ada  ") == "Ada"
    assert check_profile_field("nickname", " ") is None
    assert check_profile_field("email", "Ada@Example.COM") == "ada@example.com"
    assert check_profile_field("phone_number", "+1 (415) 555-0123") == "+14155550123"


def test_only_changed_fields_are_sent_and_email_options_follow_the_choice():
    current = {"name": "Ada", "nickname": "ada", "email": "ada@example.com"}
    typed = {"name": "Ada", "nickname": "", "email": "new@example.com"}
    sent = prepare_profile(current, typed, database=True, verify_email=True).body()
    assert sent == {"nickname": None, "email": "new@example.com", "verify_email": True}
    marked = prepare_profile(current, typed, database=True, email_verified=True).body()
    assert marked["email_verified"] is True and "verify_email" not in marked


def test_email_and_phone_are_not_sent_for_social_users():
    current = {"name": "Ada", "email": "ada@gmail.com"}
    typed = {"name": "Ada B", "email": "other@gmail.com", "phone_number": "+15550000"}
    assert prepare_profile(current, typed, database=False).body() == {"name": "Ada B"}
