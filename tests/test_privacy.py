"""Credentials never survive redaction, and what is not a credential is left alone."""

from __future__ import annotations

import pytest

from helpers.privacy import MASK, public_url, redact, redact_text


def test_url_credentials_and_key_are_masked(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "x" * 24)
    raw = {
        "base_url": "http://user:PASS@127.0.0.1:8080/v1?api_key=SECRET&model=m",
        "notes": ["see https://host.org/x?token=abc#part", "key sk-test-" + "x" * 24],
        "n": 3,
    }
    clean = redact(raw)
    text = repr(clean)
    for secret in ("PASS", "SECRET", "abc", "user", "x" * 24):
        assert secret not in text
    assert clean["base_url"] == f"http://{MASK}@127.0.0.1:8080/v1?api_key={MASK}&model=m"
    assert clean["n"] == 3
    assert raw["base_url"].startswith("http://user:PASS")  # the input is not modified


def test_plain_text_and_urls_without_credentials_are_unchanged(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    text = "served at http://127.0.0.1:8080/v1?model=small, window 12 TR"
    assert redact_text(text) == text


def test_public_url_keeps_only_the_endpoint():
    assert (
        public_url("https://u:p@api.example.org:8443/v1/?key=1#x")
        == "https://api.example.org:8443/v1"
    )
    with pytest.raises(ValueError, match="http://host:port/v1"):
        public_url("ftp://example.org")


def test_cache_keys_hold_no_credentials(tmp_path, monkeypatch):
    import json

    from helpers.data.storage import digest_of, step_dir

    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path))
    secret = {
        "llm": {"base_url": "http://user:PASS@127.0.0.1:8080/v1?api_key=SECRET", "model": "m"}
    }
    other_password = {
        "llm": {"base_url": "http://user:OTHER@127.0.0.1:8080/v1?api_key=X", "model": "m"}
    }
    folder = step_dir("annotation", secret)
    text = (folder / "key.json").read_text()
    assert "PASS" not in text and "SECRET" not in text and "127.0.0.1:8080" in text
    assert folder.name == digest_of(json.loads(text))  # the folder name is not a hash of the secret
    assert step_dir("annotation", other_password) == folder  # credentials do not change results


def test_known_credentials_are_masked_as_exact_strings_and_nothing_else(monkeypatch):
    from helpers.privacy import credentials_in, mask_credentials

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "z" * 24)
    params = {
        "llm": {"base_url": "http://bob:hunter22@host:1/v1?token=abcd1234&model=m"},
        "atlas": "x",
    }
    secrets = credentials_in(params)
    assert secrets == {"bob:hunter22", "hunter22", "abcd1234", "sk-test-" + "z" * 24}
    # embedded JavaScript (as in nilearn's connectome view) is full of URL-like text: left alone
    script = 'plotlyServerURL:{dflt:&quot;https://chart-studio.plotly.com&quot;},u="http://"+a+"@"+b+"?key="+k'
    notebook = {"cells": [{"outputs": [script, "connected with hunter22 and abcd1234"]}]}
    assert mask_credentials(notebook, secrets) == {
        "cells": [{"outputs": [script, f"connected with {MASK} and {MASK}"]}]
    }
