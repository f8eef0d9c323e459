from __future__ import annotations

import base64
import json
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import OKPKey

from core.signing import (
    BadSignature,
    DetachedSignature,
    JwksKeys,
    KeyRing,
    MalformedJws,
    RetiredKey,
    SigningKeyError,
    UnknownKey,
    dump_retired_keys,
    ensure_dev_key_file,
    generate_private_key,
    key_id,
    load_key_ring,
    load_private_key_text,
    parse_retired_keys,
    private_key_pem,
    public_key_bytes,
    verify_compact,
)

NOW = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value).encode())


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(active=generate_private_key())


class TestJwks:
    def test_publishes_the_active_key_as_an_rfc8037_jwk(self, ring: KeyRing) -> None:
        (jwk,) = ring.jwks(now=NOW)["keys"]
        assert jwk["kty"] == "OKP"
        assert jwk["crv"] == "Ed25519"
        assert jwk["alg"] == "EdDSA"
        assert jwk["use"] == "sig"
        assert base64.urlsafe_b64decode(jwk["x"] + "=") == public_key_bytes(
            ring.active.public_key()
        )
        assert "d" not in jwk

    def test_kid_is_a_prefix_of_the_rfc7638_thumbprint(self, ring: KeyRing) -> None:
        (jwk,) = ring.jwks(now=NOW)["keys"]
        thumbprint = OKPKey.import_key(ring.active.public_key()).thumbprint()
        assert thumbprint.startswith(jwk["kid"])
        assert jwk["kid"] == ring.active_kid

    def test_a_jwks_document_round_trips_to_the_same_keys(self, ring: KeyRing) -> None:
        keys = JwksKeys.from_document(json.loads(json.dumps(ring.jwks(now=NOW))))
        token = ring.sign_compact(b"hello")
        assert verify_compact(token, keys=keys, now=NOW).payload == b"hello"

    def test_foreign_and_broken_entries_are_skipped(self, ring: KeyRing) -> None:
        document = ring.jwks(now=NOW)
        document["keys"] += [
            {"kty": "EC", "crv": "P-256", "x": "abc", "y": "def", "kid": "ec"},
            {"kty": "OKP", "crv": "X25519", "x": b64url(bytes(32)), "kid": "x"},
            {"kty": "OKP", "crv": "Ed25519", "x": "not base64!", "kid": "broken"},
        ]
        assert set(JwksKeys.from_document(document).keys) == {ring.active_kid}

    def test_a_document_without_keys_is_refused(self) -> None:
        with pytest.raises(SigningKeyError):
            JwksKeys.from_document({"kid": "x"})


class TestCompactJws:
    def test_a_token_verifies_with_the_ring_that_signed_it(self, ring: KeyRing) -> None:
        token = ring.sign_compact(b'{"a":1}', typ="hp-test")
        verified = verify_compact(token, keys=ring, now=NOW, typ="hp-test")
        assert verified.payload == b'{"a":1}'
        assert verified.kid == ring.active_kid
        assert verified.header["alg"] == "EdDSA"

    def test_another_key_with_the_same_kid_is_a_bad_signature(self, ring: KeyRing) -> None:
        forger = KeyRing(active=generate_private_key())
        payload = forger.sign_compact(b"x").split(".")[1]
        forged_header = b64url_json({"alg": "EdDSA", "kid": ring.active_kid})
        signing_input = f"{forged_header}.{payload}".encode()
        forged = f"{forged_header}.{payload}.{b64url(forger.active.sign(signing_input))}"
        with pytest.raises(BadSignature):
            verify_compact(forged, keys=ring, now=NOW)

    def test_an_unknown_kid_is_reported_as_such(self, ring: KeyRing) -> None:
        stranger = KeyRing(active=generate_private_key())
        with pytest.raises(UnknownKey) as caught:
            verify_compact(stranger.sign_compact(b"x"), keys=ring, now=NOW)
        assert caught.value.kid == stranger.active_kid

    @pytest.mark.parametrize(
        "header",
        [
            {"alg": "none", "kid": "K"},
            {"alg": "HS256", "kid": "K"},
            {"alg": "EdDSA"},
            {"alg": "EdDSA", "kid": "K", "crit": ["b64"], "b64": False},
            {"alg": "EdDSA", "kid": "K", "jku": "https://example.com/keys"},
        ],
        ids=["alg-none", "alg-hmac", "no-kid", "unencoded-payload", "remote-keys"],
    )
    def test_headers_we_do_not_issue_are_malformed(
        self, ring: KeyRing, header: dict[str, object]
    ) -> None:
        header = {k: (ring.active_kid if v == "K" else v) for k, v in header.items()}
        head = b64url_json(header)
        body = b64url(b"{}")
        signature = b64url(ring.active.sign(f"{head}.{body}".encode()))
        with pytest.raises(MalformedJws):
            verify_compact(f"{head}.{body}.{signature}", keys=ring, now=NOW)

    def test_a_typ_other_than_expected_is_malformed(self, ring: KeyRing) -> None:
        with pytest.raises(MalformedJws):
            verify_compact(ring.sign_compact(b"x", typ="other"), keys=ring, now=NOW, typ="mine")


class TestRotation:
    def test_new_tokens_use_the_new_key_and_old_ones_verify_until_publish_until(
        self, ring: KeyRing
    ) -> None:
        old_token = ring.sign_compact(b"old")
        rotated = ring.rotate(generate_private_key(), now=NOW, publish_for_s=3600)
        new_token = rotated.sign_compact(b"new")

        assert verify_compact(new_token, keys=rotated, now=NOW).kid == rotated.active_kid
        assert rotated.active_kid != ring.active_kid
        just_before = NOW + timedelta(seconds=3599)
        assert verify_compact(old_token, keys=rotated, now=just_before).payload == b"old"
        with pytest.raises(UnknownKey):
            verify_compact(old_token, keys=rotated, now=NOW + timedelta(seconds=3600))

    def test_the_jwks_drops_a_retired_key_when_its_publication_ends(self, ring: KeyRing) -> None:
        rotated = ring.rotate(generate_private_key(), now=NOW, publish_for_s=3600)
        kids_now = [k["kid"] for k in rotated.jwks(now=NOW)["keys"]]
        kids_later = [k["kid"] for k in rotated.jwks(now=NOW + timedelta(hours=1))["keys"]]
        assert kids_now == [rotated.active_kid, ring.active_kid]
        assert kids_later == [rotated.active_kid]
        assert rotated.next_expiry(now=NOW) == NOW + timedelta(hours=1)
        assert rotated.next_expiry(now=NOW + timedelta(hours=1)) is None

    def test_two_keys_with_one_kid_cannot_share_a_ring(self, ring: KeyRing) -> None:
        twin = RetiredKey(public_key=ring.active.public_key(), publish_until=NOW)
        with pytest.raises(SigningKeyError):
            KeyRing(active=ring.active, retired=(twin,))

    def test_retired_keys_round_trip_through_settings_text(self, ring: KeyRing) -> None:
        rotated = ring.rotate(generate_private_key(), now=NOW, publish_for_s=90)
        parsed = parse_retired_keys(dump_retired_keys(rotated.retired))
        assert [(r.kid, r.publish_until) for r in parsed] == [
            (ring.active_kid, NOW + timedelta(seconds=90))
        ]

    @pytest.mark.parametrize(
        "text",
        ['{"x": "a"}', '[{"x": "AAAA"}]', '[{"x": "AAAA", "publish_until": "2025-01-01"}]'],
    )
    def test_bad_retired_key_text_is_refused(self, text: str) -> None:
        with pytest.raises(SigningKeyError):
            parse_retired_keys(text)


class TestDetachedSignatures:
    def test_bytes_signed_by_the_ring_verify_and_altered_bytes_do_not(self, ring: KeyRing) -> None:
        signature = ring.sign_detached(b"entry 41|prev=abc")
        assert ring.verify_detached(b"entry 41|prev=abc", signature)
        assert not ring.verify_detached(b"entry 41|prev=abd", signature)

    def test_a_retired_key_still_verifies_old_entries_after_publication_ends(
        self, ring: KeyRing
    ) -> None:
        signature = ring.sign_detached(b"entry 1")
        rotated = ring.rotate(generate_private_key(), now=NOW, publish_for_s=0)
        assert rotated.published_key(ring.active_kid, now=NOW) is None
        assert rotated.verify_detached(b"entry 1", signature)
        assert not rotated.without_key(ring.active_kid).verify_detached(b"entry 1", signature)

    def test_an_unknown_kid_does_not_verify(self, ring: KeyRing) -> None:
        signature = ring.sign_detached(b"x")
        assert not ring.verify_detached(b"x", DetachedSignature("nobody", signature.signature))


class TestKeyLoading:
    def test_pem_text_and_its_base64_forms_load_the_same_key(self) -> None:
        key = generate_private_key()
        pem = private_key_pem(key)
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        texts = [
            pem.decode(),
            base64.b64encode(pem).decode(),
            base64.b64encode(der).decode(),
            base64.urlsafe_b64encode(der).decode().rstrip("="),
        ]
        kids = {key_id(load_private_key_text(t).public_key()) for t in texts}
        assert kids == {key_id(key.public_key())}

    def test_a_key_that_is_not_ed25519_is_refused(self) -> None:
        other = ec.generate_private_key(ec.SECP256R1())
        pem = other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with pytest.raises(SigningKeyError, match="Ed25519"):
            load_private_key_text(pem.decode())

    @pytest.mark.parametrize("text", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAA==\n"])
    def test_garbage_is_refused(self, text: str) -> None:
        with pytest.raises(SigningKeyError):
            load_private_key_text(text)

    def test_the_dev_key_is_created_private_and_then_reused(self, tmp_path: Path) -> None:
        path = tmp_path / "keys" / "signing.pem"
        first = ensure_dev_key_file(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        again = ensure_dev_key_file(path)
        assert key_id(again.public_key()) == key_id(first.public_key())
        assert list(path.parent.iterdir()) == [path]

    def test_processes_starting_together_share_one_dev_key(self, tmp_path: Path) -> None:
        path = tmp_path / "signing.pem"
        kids: list[str] = []
        barrier = threading.Barrier(8)

        def start() -> None:
            barrier.wait()
            kids.append(key_id(ensure_dev_key_file(path).public_key()))

        threads = [threading.Thread(target=start) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(kids) == 8
        assert len(set(kids)) == 1

    def test_key_text_from_the_environment_wins_over_files(self, tmp_path: Path) -> None:
        env_key = generate_private_key()
        file_path = tmp_path / "file.pem"
        file_path.write_bytes(private_key_pem(generate_private_key()))
        ring = load_key_ring(
            key_text=base64.b64encode(private_key_pem(env_key)).decode(),
            key_file=file_path,
            dev_key_file=tmp_path / "dev.pem",
        )
        assert ring.active_kid == key_id(env_key.public_key())
        assert not (tmp_path / "dev.pem").exists()

    def test_a_missing_key_file_is_an_error_not_a_new_key(self, tmp_path: Path) -> None:
        with pytest.raises(SigningKeyError):
            load_key_ring(key_file=tmp_path / "absent.pem")
        with pytest.raises(SigningKeyError):
            load_key_ring()
