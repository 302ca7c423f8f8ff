"""Value generators for the custom string formats docs/openapi.json uses, so the fuzzer sends
values the server's own rules accept (a random string is rarely an IANA zone or a phone number
valid in its country's numbering plan). Loaded by run.py through SCHEMATHESIS_HOOKS."""
from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

# Samples, not the whole databases: the server checks them with its own copies (chrono-tz,
# libphonenumber, unic-langid), which need not match this machine's.
TIME_ZONES = ["UTC", "Europe/Lisbon", "Europe/London", "America/New_York", "America/Sao_Paulo",
              "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney", "Africa/Lagos", "Pacific/Auckland"]
PHONES = ["+14155550123", "+351912345678", "+447911123456", "+5511987654321", "+819012345678"]
LANGUAGE_TAGS = ["en", "en-GB", "pt-BR", "pt-PT", "fr", "de-DE", "es-419", "zh-Hant-TW", "ja"]

schemathesis.openapi.format("iana-time-zone", st.sampled_from(TIME_ZONES))
schemathesis.openapi.format("e164", st.sampled_from(PHONES))
schemathesis.openapi.format("bcp47", st.sampled_from(LANGUAGE_TAGS))
