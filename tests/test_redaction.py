"""Identifying details are replaced before anything the person typed is reused."""

from __future__ import annotations

import pytest

from qi_coach.redaction import DATE_OF_BIRTH, EMAIL, NHS_NUMBER, PHONE, POSTCODE, is_nhs_number, redact


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
