"""Norwegian identifiers: fødselsnummer, D-nummer, HPR-nummer and organisation number.

Identifier systems are the national OIDs (HL7 Norway no-basis NamingSystems). Check-digit rules
follow Skatteetaten's fødselsnummer specification and Brønnøysundregistrene's organisation number
rule; synthetic numbers follow the test-data convention of month + 80 (design.md).
"""
from __future__ import annotations

from datetime import date

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
RESH = "urn:oid:2.16.578.1.12.4.1.4.102"

_FNR_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_FNR_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
SYNTHETIC_MONTH_OFFSET = 80
DNR_DAY_OFFSET = 40


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """Mod-11 control digit of `digits`, or None when the rule gives 10 (number not issued)."""
    check = 11 - sum(int(d) * w for d, w in zip(digits, weights)) % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def fnr_check_digits(first9: str) -> str:
    """The two control digits for the first nine digits of a fødselsnummer.

    Raises ValueError when either control digit would be 10: no number is issued with those nine digits.
    """
    if len(first9) != 9 or not first9.isascii() or not first9.isdigit():
        raise ValueError("need exactly nine digits")
    k1 = _mod11(first9, _FNR_WEIGHTS_1)
    if k1 is None:
        raise ValueError(f"{first9}: first control digit would be 10")
    k2 = _mod11(first9 + str(k1), _FNR_WEIGHTS_2)
    if k2 is None:
        raise ValueError(f"{first9}: second control digit would be 10")
    return f"{k1}{k2}"


def _birth_year(yy: int, individual: int) -> int | None:
    """Full birth year from the two-digit year and the individual number series (folkeregisterforskriften)."""
    if individual <= 499:
        return 1900 + yy
    if individual <= 749 and yy >= 54:
        return 1800 + yy
    if individual >= 900 and yy >= 40:
        return 1900 + yy
    if yy <= 39:
        return 2000 + yy
    return None


def fnr_birth_date(s: str) -> date | None:
    """Birth date encoded in a fødselsnummer, D-nummer or synthetic number; None if there is none."""
    if len(s) != 11 or not s.isascii() or not s.isdigit():
        return None
    day, month, yy, individual = int(s[0:2]), int(s[2:4]), int(s[4:6]), int(s[6:9])
    if day > DNR_DAY_OFFSET:
        day -= DNR_DAY_OFFSET
    if month > SYNTHETIC_MONTH_OFFSET:
        month -= SYNTHETIC_MONTH_OFFSET
    year = _birth_year(yy, individual)
    if year is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def is_valid_fnr(s: str) -> bool:
    """True for an 11-digit fødselsnummer or D-nummer with valid control digits and a real birth date.

    Synthetic numbers (month + 80) are accepted: they pass the same checks as real ones.
    """
    if fnr_birth_date(s) is None:
        return False
    try:
        return fnr_check_digits(s[:9]) == s[9:]
    except ValueError:
        return False


def is_synthetic_fnr(s: str) -> bool:
    """True for a valid number that follows the synthetic convention (month + 80)."""
    return is_valid_fnr(s) and int(s[2:4]) > SYNTHETIC_MONTH_OFFSET


def is_dnr(s: str) -> bool:
    """True for a valid D-nummer (day + 40)."""
    return is_valid_fnr(s) and int(s[0:2]) > DNR_DAY_OFFSET


def synthetic_fnr(birth: date, individual: int) -> str:
    """A synthetic fødselsnummer for `birth`: month + 80 and valid control digits.

    Starts at `individual` and steps by two (keeping the sex digit, odd = male) past numbers whose
    control digit would be 10. Raises ValueError when the series for the birth year runs out.
    """
    prefix = f"{birth.day:02d}{birth.month + SYNTHETIC_MONTH_OFFSET:02d}{birth.year % 100:02d}"
    for candidate in range(individual, 1000, 2):
        if _birth_year(birth.year % 100, candidate) != birth.year:
            break
        first9 = f"{prefix}{candidate:03d}"
        try:
            return first9 + fnr_check_digits(first9)
        except ValueError:
            continue
    raise ValueError(f"no synthetic number for {birth.isoformat()} from individual number {individual}")


def fnr_is_male(s: str) -> bool:
    """Sex encoded in a fødselsnummer: the third individual digit is odd for men."""
    return int(s[8]) % 2 == 1


def mask_fnr(s: str) -> str:
    """Show the birth-date part, hide the personal number: `05038312345` → `050383*****`.

    Anything that is not 11 digits is hidden completely, so a malformed number never leaks.
    """
    if len(s) == 11 and s.isascii() and s.isdigit():
        return s[:6] + "*****"
    return "*" * len(s)


def is_valid_hpr(s: str) -> bool:
    """True for an HPR number: 7 to 9 digits, not all zeros.

    Helsedirektoratet publishes no check-digit rule for HPR numbers, so none is applied.
    """
    return 7 <= len(s) <= 9 and s.isascii() and s.isdigit() and s.strip("0") != ""


def orgnr_check_digit(first8: str) -> str:
    """Control digit for the first eight digits of an organisation number (mod 11, weights 3,2,7,6,5,4,3,2).

    Raises ValueError when it would be 10: no organisation number is issued with those digits.
    """
    if len(first8) != 8 or not first8.isascii() or not first8.isdigit():
        raise ValueError("need exactly eight digits")
    check = _mod11(first8, _ORGNR_WEIGHTS)
    if check is None:
        raise ValueError(f"{first8}: control digit would be 10")
    return str(check)


def is_valid_orgnr(s: str) -> bool:
    """True for a 9-digit organisation number with a valid mod-11 control digit."""
    if len(s) != 9 or not s.isascii() or not s.isdigit():
        return False
    try:
        return orgnr_check_digit(s[:8]) == s[8]
    except ValueError:
        return False
