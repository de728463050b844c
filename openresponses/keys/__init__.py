"""Gateway keys (``OPENRESPONSES_AUTH=keys``): generation, hashing, records, look-ups."""

from openresponses.keys._directory import KeyDirectory as KeyDirectory
from openresponses.keys._record import KEY_PREFIX as KEY_PREFIX
from openresponses.keys._record import KeyChange as KeyChange
from openresponses.keys._record import KeyLimits as KeyLimits
from openresponses.keys._record import KeyRecord as KeyRecord
from openresponses.keys._record import generate_key as generate_key
from openresponses.keys._record import hash_key as hash_key
from openresponses.keys._record import key_rights as key_rights
from openresponses.keys._record import model_allowed as model_allowed
from openresponses.keys._record import new_key as new_key

__all__ = [
    "KEY_PREFIX",
    "KeyChange",
    "KeyDirectory",
    "KeyLimits",
    "KeyRecord",
    "generate_key",
    "hash_key",
    "key_rights",
    "model_allowed",
    "new_key",
]
