import pytest

from core import codes


def test_new_code_is_valid_and_prefixed():
    for _ in range(200):
        code = codes.new_code("L")
        assert code.startswith("L") and len(code) == 9
        assert codes.is_valid(code, "L")


def test_every_single_substitution_is_caught():
    code = codes.new_code("", 7)
    for i in range(len(code)):
        for ch in codes.ALPHABET:
            if ch != code[i]:
                assert not codes.is_valid(code[:i] + ch + code[i + 1:])


def test_adjacent_swaps_are_caught():
    code = codes.new_code("", 7)
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
            assert not codes.is_valid(swapped)


@pytest.mark.parametrize("typed", ["l4k7-q9m2", "L4K7 Q9M2"])
def test_normalise_reads_like_crockford(typed):
    assert codes.normalise(typed) == "14K7Q9M2"


def test_garbage_is_invalid():
    assert not codes.is_valid("")
    assert not codes.is_valid("L", "L")
    assert not codes.is_valid("L!!!", "L")
