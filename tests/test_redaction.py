"""Identifying details are replaced before anything the person typed is reused."""

from __future__ import annotations

import pytest

from qi_coach.redaction import DATE_OF_BIRTH, EMAIL, NAME, NHS_NUMBER, PHONE, POSTCODE, is_nhs_number, redact


@pytest.mark.parametrize("number", ["943 476 5919", "9434765919", "943-476-5919", "401 023 2137"])
def test_nhs_numbers_with_a_valid_check_digit_are_removed_in_any_common_spacing(number):
    out = redact(f"Patient {number} fell twice on the ward.")
    assert out.text == f"Patient {NHS_NUMBER} fell twice on the ward."
    assert out.removed == (NHS_NUMBER,)


def test_ten_digits_that_fail_the_modulus_11_check_are_not_an_nhs_number():
    assert not is_nhs_number("9434765918")
    assert not is_nhs_number("123456789")
    assert redact("Order 9434765918 has not arrived").text == "Order 9434765918 has not arrived"


@pytest.mark.parametrize("text, placeholder", [
    ("ring me on 07700 900123 after 5", PHONE),
    ("ring me on +44 7700 900123 after 5", PHONE),
    ("ring me on +44 (0)20 7946 0958 after 5", PHONE),
    ("ring me on 0044 20 7946 0958 after 5", PHONE),
    ("ring me on 07911123456 after 5", PHONE),
    ("ring me on (0113) 243 3144 after 5", PHONE),
    ("the ward is 0161 496 0000 after 5", PHONE),
    ("email jo.bloggs@nhs.net after 5", EMAIL),
    ("she lives at LS1 4AP after 5", POSTCODE),
    ("DOB 03/04/1951 after 5", DATE_OF_BIRTH),
    ("date of birth: 3 April 1951 after 5", DATE_OF_BIRTH),
])
def test_phone_numbers_emails_postcodes_and_dates_of_birth_become_typed_placeholders(text, placeholder):
    out = redact(text)
    assert placeholder in out.text and out.text.endswith(" after 5")
    assert out.removed == (placeholder,)


def test_ordinary_descriptions_are_left_exactly_as_typed():
    text = ("We audited 40 sets of notes in 2023 and the rota changes on 1/8; 3 of 12 consultants "
            "came to the M&M meeting. Falls went from 12 to 9 a month 🙁")
    out = redact(text)
    assert out.text == text and not out.changed


def test_each_kind_is_reported_once_in_the_order_first_met():
    out = redact("Call 07700 900123 or 07700 900456, or email a@b.org")
    assert out.removed == (PHONE, EMAIL)
    assert out.text.count(PHONE) == 2


@pytest.mark.parametrize("text, expected", [
    ("Mrs Patel on bay 4 fell again", "[name] on bay 4 fell again"),
    ("Dr Jo Hill won't come to the meetings", "[name] won't come to the meetings"),
    ("mr O'Neill was readmitted", "[name] was readmitted"),
    ("a lady called Doris Smith fell", "a lady called [name] fell"),
    ("my name is Sarah and I lead the project", "my name is [name] and I lead the project"),
    ("patient John Smith was missed", "patient [name] was missed"),
])
def test_names_marked_by_a_title_or_a_cue_become_a_placeholder(text, expected):
    out = redact(text)
    assert out.text == expected and out.removed == (NAME,)


@pytest.mark.parametrize("text", [
    "we use MS Teams for the huddle",  # not a title
    "the Patient Safety Team said no",  # a service, not a patient
    "we miss Sarah since she left",  # lower-case 'miss' is a verb; an unmarked name is not caught
    "weekly falls: 12 15 11 9 14 13 10 8 11",  # a run of figures is not a phone number
    "bleep 1234 or ext 4567",  # internal extensions identify nobody
    "I'm the QI lead on a ward of 28 beds",
])
def test_ordinary_qi_talk_is_not_mistaken_for_personal_details(text):
    assert redact(text).text == text


def test_every_kind_at_once_keeps_the_sentence_readable():
    out = redact("Mr Jones (NHS 401 023 2137, DOB 3/4/51, LS1 4AP, jones@example.org, 07700 900123) fell.")
    assert out.text == "[name] (NHS [NHS number], [date of birth], [postcode], [email address], [phone number]) fell."
    assert set(out.removed) == {NAME, NHS_NUMBER, DATE_OF_BIRTH, POSTCODE, EMAIL, PHONE}


def test_a_sentence_that_starts_after_the_word_patient_is_not_a_name():
    text = "We still haven't tested it on a single patient. Meanwhile the staff have stopped coming."
    assert redact(text).text == text
