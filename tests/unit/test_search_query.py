"""The Users page's search text becomes a v3 Lucene query that typed input can never widen."""

import pytest

from admin_core.query import build_query, escape_lucene, phrase


@pytest.mark.parametrize("char", list("+-=&|!(){}[]^\"~*?:\\/<>'"))
def test_every_lucene_special_character_is_escaped(char):
    assert escape_lucene(f"a{char}b") == f"a\\{char}b"


def test_spaces_are_escaped_so_words_stay_one_term():
    assert escape_lucene("ada love") == "ada\\ love"


def test_plain_text_is_a_prefix_match_on_email_name_and_nickname():
    assert build_query("Ada") == "(email:ada* OR name:ada* OR nickname:ada*)"


def test_an_email_copied_from_a_card_finds_the_person_despite_its_invisible_word_joiner():
    assert build_query("ada@\u2060example.com") == (
        "(email:ada@example.com* OR name:ada@example.com* OR nickname:ada@example.com*)"
    )


def test_short_text_matches_whole_words_because_auth0_wants_three_characters_before_a_wildcard():
    assert build_query("al") == '(email:"al" OR name:"al" OR nickname:"al")'


def test_operators_typed_in_plain_search_are_literal():
    q = build_query("a OR *")
    assert q == "(email:a\\ or\\ \\** OR name:a\\ or\\ \\** OR nickname:a\\ or\\ \\**)"


def test_advanced_text_is_passed_through_in_parentheses():
    assert build_query("logins_count:[10 TO *]", advanced=True) == "(logins_count:[10 TO *])"


def test_filters_combine_with_and():
    q = build_query("", blocked=True, never_logged_in=True, connection="google-oauth2")
    assert q == 'blocked:true AND NOT _exists_:last_login AND identities.connection:"google\\-oauth2"'


def test_no_text_and_no_filters_means_everyone():
    assert build_query("   ") is None


def test_a_phrase_is_quoted_with_everything_inside_it_literal():
    assert phrase('Acme "Staff" DB') == '"Acme\\ \\"Staff\\"\\ DB"'
