"""The consent registry and its rules.

- `rules`: pure decisions (`consent_for`) and what the registry accepts.
- `registry`: the SQLite store (`Registry`), its migrations and the pipeline's `Snapshot`.
- `crypto`: encryption at rest of face templates and kept photos, and the registry key.
"""

from blurkit.consent.crypto import RegistryKeyError
from blurkit.consent.registry import Erasure, Registry, Snapshot, Template, Withdrawal
from blurkit.consent.rules import Consent, ConsentError, Decision, Person, consent_for

__all__ = ["Consent", "ConsentError", "Decision", "Erasure", "Person", "Registry",
           "RegistryKeyError", "Snapshot", "Template", "Withdrawal", "consent_for"]
