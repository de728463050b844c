"""Secrets the operability tests configure, so the log grep knows what must never appear.

Some look like real keys (the redaction patterns catch them), some do not (only never logging
them keeps them out of the logs).
"""

from __future__ import annotations

FAULTY_PROVIDER_KEY = "faulty-provider-key-7f3a9c51e2"  # matches no redaction pattern
GROQ_PROVIDER_KEY = "gsk_observabilityTestKey1234567890"
OPENAI_PROVIDER_KEY = "sk-proj-observabilityTestKey1234567890"
FUZZ_CLIENT_KEY = "fuzz-client-key-93c1d7"

PROVIDER_KEYS = (FAULTY_PROVIDER_KEY, GROQ_PROVIDER_KEY, OPENAI_PROVIDER_KEY)
