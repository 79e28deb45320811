"""Short, human-typable codes with a check character (lots, parcels).

Crockford's base-32 alphabet (no I, L, O, U: nothing to confuse with 1 and 0) and the Luhn mod N
algorithm over it, which catches every single mistyped character and every swap of two
neighbours. Input is normalised the Crockford way: case-insensitive, O read as 0, I and L as 1,
spaces and dashes ignored.
"""
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
N = len(ALPHABET)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def normalise(code: str, prefix: str = "") -> str:
    """Canonical form; the prefix (a letter such as L for lots) is kept as typed."""
    code = (code or "").upper().replace("-", "").replace(" ", "")
    if prefix and code.startswith(prefix):
        return prefix + code[len(prefix):].translate(_READ_AS)
    return code.translate(_READ_AS)


def check_character(body: str) -> str:
    factor, total = 2, 0
    for ch in reversed(body):
        addend = factor * _VALUE[ch]
        addend = addend // N + addend % N
        total += addend
        factor = 1 if factor == 2 else 2
    return ALPHABET[(N - total % N) % N]


def is_valid(code: str, prefix: str = "") -> bool:
    code = normalise(code, prefix)
    if prefix:
        if not code.startswith(prefix):
            return False
        code = code[len(prefix):]
    if len(code) < 2 or any(ch not in _VALUE for ch in code):
        return False
    return check_character(code[:-1]) == code[-1]


def new_code(prefix: str = "", length: int = 7) -> str:
    """A random body of `length` characters, then its check character: e.g. prefix 'L' -> 'L4K7Q9M2X'."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return f"{prefix}{body}{check_character(body)}"


def display(code: str, group: int = 4) -> str:
    """Groups for reading aloud over a bad phone line: L4K7-Q9M2-X."""
    return "-".join(code[i:i + group] for i in range(0, len(code), group))
