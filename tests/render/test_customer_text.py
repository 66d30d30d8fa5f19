"""The rules that turn an agent's internal note into customer text (issue #21, finding 3)."""

from __future__ import annotations

import pytest

from bot.render.customer_text import customer_clause, first_name, short_subject


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        # Third person about the customer becomes second person.
        (
            "Corrected the SAML audience URL in their tenant settings",
            "corrected the SAML audience URL in your tenant settings",
        ),
        (
            "Walked them through Settings > Data > Export.",
            "walked you through Settings > Data > Export",
        ),
        (
            "Their invoices now show the credit; they're all set",
            "your invoices now show the credit; you're all set",
        ),
        (
            "Sent the customer's refund and told the customer why",
            "sent your refund and told you why",
        ),
        # Sentence case after a colon: verbs and articles lower-cased, names and acronyms kept.
        ("Re-ran the failed import", "re-ran the failed import"),
        ("We patched the export job.", "patched the export job"),
        ("The webhook queue was restarted", "the webhook queue was restarted"),
        ("SSO certificate replaced.", "SSO certificate replaced"),
        ("Zendesk trigger fixed", "Zendesk trigger fixed"),
        # Trailing punctuation and stray whitespace go; the template adds its own full stop.
        ("  Refunded the charge ;  ", "refunded the charge"),
    ],
)
def test_an_internal_note_becomes_a_customer_clause(note: str, expected: str) -> None:
    clause = customer_clause(note)
    assert clause is not None and clause.text == expected


def test_a_note_naming_the_customer_speaks_to_them() -> None:
    clause = customer_clause(
        "Cleared the stale session and asked Noor Haddad to update Noor Haddad's app to 5.2",
        "Noor Haddad",
    )
    assert clause is not None
    assert clause.text == "cleared the stale session and asked you to update your app to 5.2"


@pytest.mark.parametrize(
    ("note", "name", "kept"),
    [
        ("Grace period extended by 14 days", "Grace Ho", "Grace period extended by 14 days"),
        ("Moved the renewal to May 31", "May Chen", "moved the renewal to May 31"),
        ("Asked Noor to update the app", "Noor Haddad", "asked Noor to update the app"),
    ],
)
def test_a_first_name_alone_is_never_rewritten_but_flagged(note: str, name: str, kept: str) -> None:
    """A first name is also a word ("Grace period", "May 31"): only the full name becomes
    "you"; a first name alone is left for the agent to check."""
    clause = customer_clause(note, name)
    assert clause is not None
    assert clause.text == kept
    assert "the customer's name" in clause.concerns


def test_they_is_left_alone_and_flagged_when_the_note_names_another_party() -> None:
    """ "which they did" is the bank, not the customer."""
    clause = customer_clause("Asked the bank to reverse the charge, which they did", "Priya Shah")
    assert clause is not None
    assert clause.text == "asked the bank to reverse the charge, which they did"
    assert any("they" in concern for concern in clause.concerns)


@pytest.mark.parametrize(
    ("note", "text"),
    [
        ("We've patched the sync job.", "patched the sync job"),
        ("I have reset their password", "reset your password"),
        ("Issued a corrected invoice", "issued a corrected invoice"),
        ("Fixed!", "fixed"),
    ],
)
def test_a_note_in_our_voice_reads_after_what_we_did(note: str, text: str) -> None:
    clause = customer_clause(note)
    assert clause is not None and clause.text == text


def test_explaining_what_happened_is_not_a_how_to_answer() -> None:
    """ "Explained that the outage was on our side and credited the account" fixed something;
    "Explained how to export" answered a question."""
    fixed = customer_clause("Explained that the outage was on our side and credited the account")
    answered = customer_clause("Explained how to export the data")
    assert fixed is not None and not fixed.how_to
    assert answered is not None and answered.how_to


@pytest.mark.parametrize(
    ("note", "how_to"),
    [
        ("Walked them through Settings > Data > Export", True),
        ("Explained where the date filter lives", True),
        ("Sent them the guide to bulk exports", True),
        ("Refunded the duplicate charge", False),
        ("Sent a corrected invoice", False),
    ],
)
def test_a_how_to_answer_is_not_a_fix(note: str, how_to: bool) -> None:
    clause = customer_clause(note)
    assert clause is not None and clause.how_to is how_to


@pytest.mark.parametrize(
    ("note", "concern"),
    [
        ("Fixed the sync after our VP Engineering reviewed the backlog", "internal details"),
        ("Reset her password and walked her through 2FA", "he/she"),
        ("Customer confirmed the export works", "“customer”"),
        ("Fixed in SUP-2210", "an internal ticket number"),
        ("Asked @maria to re-run the job", "an @mention"),
    ],
)
def test_what_the_rules_cannot_make_safe_is_reported(note: str, concern: str) -> None:
    clause = customer_clause(note)
    assert clause is not None and concern in clause.concerns


def test_a_plain_note_has_no_concerns() -> None:
    clause = customer_clause("Refunded the duplicate charge and fixed the retry")
    assert clause is not None and clause.concerns == ()


def test_no_note_is_no_clause() -> None:
    assert customer_clause(None) is None
    assert customer_clause("  . ") is None


def test_a_long_subject_is_cut_at_a_word_boundary() -> None:
    subject = (
        "Customs declarations rejected after the EU tariff code update and every declaration"
        " since Monday is stuck in the queue with error 4012 from the customs gateway"
    )
    short = short_subject(subject)
    assert short is not None and len(short) <= 81 and short.endswith("…")
    assert subject.startswith(short[:-1])
    assert subject[len(short) - 1] == " ", "cut between words"
    assert short_subject("Invoice 2291 charged twice") == "Invoice 2291 charged twice"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mrs Adaeze Nwosu", "Adaeze"),
        ("Dr. Chidi Okafor", "Chidi"),
        ("Adaeze Nwosu", "Adaeze"),
        ("Mrs Nwosu", None),  # a title and a surname: "Hi there", never "Hi Nwosu"
        ("  ", None),
        (None, None),
    ],
)
def test_the_greeting_uses_the_first_name_without_an_honorific(
    name: str | None, expected: str | None
) -> None:
    assert first_name(name) == expected
