"""Norwegian identifiers: check digits, synthetic numbers, masking, HPR and organisation numbers."""
from __future__ import annotations

from datetime import date

import pytest

from app import identifiers

# Check digits of these were worked out by hand (Skatteetaten's mod-11 weights), not with the code under test.
HAND_CHECKED_SYNTHETIC = "05834812721"  # 5 March 1948, individual number 127 (male), month 03 + 80
PUBLISHED_EXAMPLE = "31129956715"  # 31 Dec 1899, the worked example on fnrinfo.no


def test_check_digits_match_worked_examples() -> None:
    assert identifiers.fnr_check_digits("311299567") == "15"
    assert identifiers.fnr_check_digits("058348127") == "21"


@pytest.mark.parametrize("first9", ["058348123", "058348125"])
def test_check_digits_refuse_numbers_never_issued(first9: str) -> None:
    with pytest.raises(ValueError, match="would be 10"):
        identifiers.fnr_check_digits(first9)


@pytest.mark.parametrize("first9", ["05834812", "0583481271", "05834812a", ""])
def test_check_digits_need_nine_digits(first9: str) -> None:
    with pytest.raises(ValueError, match="nine digits"):
        identifiers.fnr_check_digits(first9)


@pytest.mark.parametrize("number", [
    PUBLISHED_EXAMPLE,
    HAND_CHECKED_SYNTHETIC,
    "450348123" + identifiers.fnr_check_digits("450348123"),  # D-nummer: day 05 + 40
    "290200500" + identifiers.fnr_check_digits("290200500"),  # 29 Feb 2000, series 500-999 for 2000-2039
])
def test_valid_numbers_are_accepted(number: str) -> None:
    assert identifiers.is_valid_fnr(number)


@pytest.mark.parametrize("number", [
    "05834812722",  # wrong second control digit
    "05834812731",  # wrong first control digit
    "0583481272",  # ten digits
    "058348127211",  # twelve digits
    "0583481272a",
    " 5834812721",
    "",
    "00000000000",  # day 0
    "310200" + "123" + "00",  # no 31 February
    "290201500" + "00",  # 2001 is no leap year
    "051348123" + "00",  # month 13
    "059348123" + "00",  # synthetic month 13
    "720348123" + "00",  # D-nummer day 32
    "05034880000",  # individual 800 is no series for 1948
    "٠٥٨٣٤٨١٢٧٢١",  # Arabic-Indic digits are digits to Python, not to Skatteetaten
])
def test_invalid_numbers_are_refused(number: str) -> None:
    assert not identifiers.is_valid_fnr(number)


def test_invalid_dates_are_refused_even_with_valid_check_digits() -> None:
    first9 = "310248123"
    number = first9 + identifiers.fnr_check_digits(first9)
    assert not identifiers.is_valid_fnr(number)


def test_synthetic_number_adds_eighty_to_the_month() -> None:
    number = identifiers.synthetic_fnr(date(1948, 3, 5), 127)
    assert number == HAND_CHECKED_SYNTHETIC
    assert identifiers.is_synthetic_fnr(number)
    assert identifiers.fnr_birth_date(number) == date(1948, 3, 5)


def test_synthetic_number_skips_individual_numbers_with_control_digit_ten() -> None:
    # 123 and 125 give a control digit of 10; the next number of the same sex is 127.
    assert identifiers.synthetic_fnr(date(1948, 3, 5), 123) == HAND_CHECKED_SYNTHETIC


@pytest.mark.parametrize("birth, individual, male", [
    (date(1948, 3, 5), 127, True), (date(1948, 3, 5), 246, False),
    (date(2005, 12, 31), 501, True), (date(2005, 12, 31), 998, False),
])
def test_synthetic_number_keeps_the_sex_digit(birth: date, individual: int, male: bool) -> None:
    number = identifiers.synthetic_fnr(birth, individual)
    assert identifiers.is_valid_fnr(number)
    assert identifiers.fnr_is_male(number) is male
    assert identifiers.fnr_birth_date(number) == birth


def test_synthetic_number_refuses_a_series_outside_the_birth_year() -> None:
    with pytest.raises(ValueError, match="no synthetic number"):
        identifiers.synthetic_fnr(date(1948, 3, 5), 601)


def test_real_and_dnr_numbers_are_not_synthetic() -> None:
    dnr = "450348123" + identifiers.fnr_check_digits("450348123")
    assert identifiers.is_dnr(dnr)
    assert not identifiers.is_synthetic_fnr(dnr)
    assert not identifiers.is_synthetic_fnr(PUBLISHED_EXAMPLE)


@pytest.mark.parametrize("number, masked", [
    ("05038312345", "050383*****"),
    (HAND_CHECKED_SYNTHETIC, "058348*****"),
    ("123", "***"),
    ("0503831234x", "***********"),
    ("", ""),
])
def test_mask_hides_the_personal_number(number: str, masked: str) -> None:
    assert identifiers.mask_fnr(number) == masked


@pytest.mark.parametrize("hpr", ["7150421", "10281573", "565002113", "0123456"])
def test_hpr_numbers_of_seven_to_nine_digits_are_valid(hpr: str) -> None:
    assert identifiers.is_valid_hpr(hpr)


@pytest.mark.parametrize("hpr", ["123456", "1234567890", "12345a7", "", "0000000", " 1234567", "١٢٣٤٥٦٧"])
def test_malformed_hpr_numbers_are_refused(hpr: str) -> None:
    assert not identifiers.is_valid_hpr(hpr)


@pytest.mark.parametrize("orgnr", ["974760673", "923609016", "310920002"])
def test_organisation_numbers_with_valid_control_digit_pass(orgnr: str) -> None:
    assert identifiers.is_valid_orgnr(orgnr)


@pytest.mark.parametrize("orgnr", [
    "974760674",  # wrong control digit
    "97476067",
    "9747606730",
    "97476067a",
    "",
    " 97476067",
    "100000130",  # the first eight digits give control digit 10: never issued
])
def test_malformed_organisation_numbers_are_refused(orgnr: str) -> None:
    assert not identifiers.is_valid_orgnr(orgnr)


def test_organisation_check_digit_refuses_numbers_never_issued() -> None:
    assert identifiers.orgnr_check_digit("97476067") == "3"
    with pytest.raises(ValueError, match="would be 10"):
        identifiers.orgnr_check_digit("10000013")
