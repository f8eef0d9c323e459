"""Ed25519 signing keys of the platform: one active key signs, retired keys stay published.

A key ring signs compact JWS (pickup passes) and raw detached signatures over bytes (the
event log). Verifiers look keys up by key id (kid) through a `KeyResolver`: the ring itself on
the server, or a `JwksKeys` parsed from the published JWKS document on a gate device.

Rotation: `KeyRing.rotate` makes a new key active and keeps the old public key published until
`publish_until`, which must be at least the longest lifetime of anything signed plus the
verifiers' clock leeway, so every token signed with the old key expires before its key is
withdrawn. Retired keys stay in the ring after that (for detached signatures, which outlive
passes) until `KeyRing.without_key` drops them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import OKPKey

from core.settings import Environment, Settings

logger = logging.getLogger(__name__)

# RFC 9864 deprecates "EdDSA" for new protocols in favour of the fully specified "Ed25519".
# We keep "EdDSA" because JOSE libraries on gate devices and at partners have long supported
# it; every key here is Ed25519 and verification pins both the name and the curve, which
# removes the ambiguity that motivated the deprecation.
JWS_ALGORITHM = "EdDSA"
CURVE = "Ed25519"
SIGNATURE_BYTES = 64
# A kid is only a lookup hint (the signature decides); 64 bits of the RFC 7638 thumbprint keep
# tokens short for QR codes while making an accidental clash between our keys negligible.
KID_CHARS = 11


class SigningKeyError(ValueError):
    """A key could not be loaded, generated or used."""


class JwsError(ValueError):
    """Base of the compact JWS verification failures."""


class MalformedJws(JwsError):
    """The token is not a compact JWS of the expected shape."""


class UnknownKey(JwsError):
    """No published key has the token's kid."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"no published key with kid {kid!r}")
        self.kid = kid


class BadSignature(JwsError):
    """The signature does not verify with the key named by the kid."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"signature does not verify with key {kid!r}")
        self.kid = kid


class _PinnedEdDsaRegistry(jws.JWSRegistry):
    """A JWS registry that knows one algorithm and does not warn about its name (see above)."""

    def get_alg(self, name: str) -> JWSAlgModel:
        """Return the EdDSA model, refusing every other algorithm name."""
        if name != JWS_ALGORITHM:
            raise MalformedJws(f"algorithm {name!r} is not accepted")
        return self.algorithms[JWS_ALGORITHM]


_REGISTRY = _PinnedEdDsaRegistry(algorithms=[JWS_ALGORITHM])
_ALLOWED_HEADER = frozenset({"alg", "kid", "typ"})


def generate_private_key() -> Ed25519PrivateKey:
    """Generate a fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of a public key (the JWK `x`)."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise SigningKeyError("not base64url") from error


def key_id(key: Ed25519PublicKey) -> str:
    """Return the kid of a public key: the RFC 7638 SHA-256 thumbprint cut to `KID_CHARS`."""
    # RFC 7638: the required members in lexicographic order, no whitespace.
    canonical = json.dumps(
        {"crv": CURVE, "kty": "OKP", "x": _b64url(public_key_bytes(key))},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())[:KID_CHARS]


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """Return the public JWK of a key (RFC 8037) with kid, alg and use."""
    return {
        "kty": "OKP",
        "crv": CURVE,
        "x": _b64url(public_key_bytes(key)),
        "kid": key_id(key),
        "alg": JWS_ALGORITHM,
        "use": "sig",
    }


def load_private_key_pem(data: bytes | str) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 private key."""
    raw = data.encode("ascii") if isinstance(data, str) else data
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError("not an unencrypted PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"expected an Ed25519 key, got {type(key).__name__}")
    return key


def load_private_key_text(text: str) -> Ed25519PrivateKey:
    """Load a key given as text in an environment variable: PEM, or base64 of PEM or PKCS#8 DER.

    Multi-line PEM is awkward in some deployment tools, so base64 of the whole PEM is accepted,
    as is base64 of the DER form; both the standard and the URL-safe alphabet work.
    """
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        return load_private_key_pem(stripped)
    compact = "".join(stripped.split())
    try:
        decoded = base64.b64decode(
            compact.replace("-", "+").replace("_", "/") + "=" * (-len(compact) % 4),
            validate=True,
        )
    except (binascii.Error, ValueError) as error:
        raise SigningKeyError("signing key text is neither PEM nor base64") from error
    if decoded.lstrip().startswith(b"-----BEGIN"):
        return load_private_key_pem(decoded)
    try:
        key = serialization.load_der_private_key(decoded, password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError("base64 signing key is neither PEM nor PKCS#8 DER") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"expected an Ed25519 key, got {type(key).__name__}")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """Serialize a private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_file(path: Path) -> Ed25519PrivateKey:
    """Load a PEM private key file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SigningKeyError(f"cannot read signing key file {path}: {error}") from error
    return load_private_key_pem(data)


def ensure_dev_key_file(path: Path) -> Ed25519PrivateKey:
    """Load the development key at `path`, creating it (mode 0600) if it does not exist.

    Creation is atomic: the key is written to a private temporary file and hard-linked into
    place, so two processes starting together end up sharing whichever key landed first and
    nobody ever reads a half-written file.
    """
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            logger.warning("signing key file %s is readable by others (mode %o)", path, mode)
        return load_private_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_private_key()
    # mkstemp creates the file with mode 0600.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(private_key_pem(key))
            tmp.flush()
            os.fsync(tmp.fileno())
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return load_private_key_file(path)
    finally:
        os.unlink(tmp_name)
    return key


@dataclass(frozen=True)
class RetiredKey:
    """A public key that no longer signs; published for verification until `publish_until`."""

    public_key: Ed25519PublicKey
    publish_until: datetime

    def __post_init__(self) -> None:
        if self.publish_until.tzinfo is None:
            raise SigningKeyError("publish_until must be timezone-aware")

    @property
    def kid(self) -> str:
        """The key id."""
        return key_id(self.public_key)


def parse_retired_keys(text: str) -> tuple[RetiredKey, ...]:
    """Parse retired keys from settings: a JSON list of {"x": base64url, "publish_until": ISO}."""
    try:
        items = json.loads(text)
        if not isinstance(items, list):
            raise SigningKeyError("retired keys must be a JSON list")
        retired = []
        for item in items:
            x = _b64url_decode(str(item["x"]))
            publish_until = datetime.fromisoformat(str(item["publish_until"]))
            retired.append(
                RetiredKey(
                    public_key=Ed25519PublicKey.from_public_bytes(x),
                    publish_until=publish_until,
                )
            )
    except (KeyError, TypeError, ValueError) as error:
        raise SigningKeyError(f"cannot parse retired keys: {error}") from error
    return tuple(retired)


def dump_retired_keys(retired: Iterable[RetiredKey]) -> str:
    """Serialize retired keys in the format `parse_retired_keys` reads."""
    return json.dumps(
        [
            {
                "x": _b64url(public_key_bytes(item.public_key)),
                "publish_until": item.publish_until.isoformat(),
            }
            for item in retired
        ]
    )


class KeyResolver(Protocol):
    """Finds the public key a verifier may use for a kid at a given time."""

    def published_key(self, kid: str, *, now: datetime) -> Ed25519PublicKey | None:
        """Return the key published under `kid` at `now`, or None."""
        ...


@dataclass(frozen=True)
class DetachedSignature:
    """A raw Ed25519 signature over some bytes, with the kid of the key that made it."""

    kid: str
    signature: bytes


@dataclass(frozen=True)
class VerifiedJws:
    """A compact JWS whose signature has been verified: header, payload bytes and kid."""

    kid: str
    header: Mapping[str, Any]
    payload: bytes


@dataclass(frozen=True, eq=False)
class KeyRing:
    """The platform's signing keys: one active private key and the retired public keys."""

    active: Ed25519PrivateKey
    retired: tuple[RetiredKey, ...] = ()
    _by_kid: Mapping[str, Ed25519PublicKey] = field(init=False, repr=False, compare=False)
    _active_kid: str = field(init=False, repr=False, compare=False)
    _active_jwk: OKPKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        active_kid = key_id(self.active.public_key())
        by_kid: dict[str, Ed25519PublicKey] = {active_kid: self.active.public_key()}
        for item in self.retired:
            if item.kid in by_kid:
                raise SigningKeyError(f"two keys in the ring share kid {item.kid!r}")
            by_kid[item.kid] = item.public_key
        object.__setattr__(self, "_by_kid", by_kid)
        object.__setattr__(self, "_active_kid", active_kid)
        object.__setattr__(self, "_active_jwk", OKPKey.import_key(self.active))

    @property
    def active_kid(self) -> str:
        """The kid of the key that signs."""
        return self._active_kid

    def published_key(self, kid: str, *, now: datetime) -> Ed25519PublicKey | None:
        """Return the key with `kid` if it is active, or retired and still published at `now`."""
        if kid == self._active_kid:
            return self.active.public_key()
        for item in self.retired:
            if item.kid == kid:
                return item.public_key if now < item.publish_until else None
        return None

    def known_key(self, kid: str) -> Ed25519PublicKey | None:
        """Return any key of the ring with `kid`, published or not (for long-lived signatures)."""
        return self._by_kid.get(kid)

    def rotate(
        self, new_active: Ed25519PrivateKey, *, now: datetime, publish_for_s: float
    ) -> KeyRing:
        """Return a ring where `new_active` signs and the current key is retired.

        `publish_for_s` must cover the longest token lifetime plus verifier clock leeway.
        """
        if publish_for_s < 0:
            raise SigningKeyError("publish_for_s must not be negative")
        retiring = RetiredKey(
            public_key=self.active.public_key(),
            publish_until=now + timedelta(seconds=publish_for_s),
        )
        return KeyRing(active=new_active, retired=(retiring, *self.retired))

    def without_key(self, kid: str) -> KeyRing:
        """Return the ring without the retired key `kid`."""
        return KeyRing(active=self.active, retired=tuple(r for r in self.retired if r.kid != kid))

    def jwks(self, *, now: datetime) -> dict[str, list[dict[str, str]]]:
        """Return the JWKS document of the keys published at `now`, active key first."""
        keys = [public_jwk(self.active.public_key())]
        keys.extend(public_jwk(r.public_key) for r in self.retired if now < r.publish_until)
        return {"keys": keys}

    def archive_jwks(self) -> dict[str, list[dict[str, str]]]:
        """Return a JWKS of every key in the ring, retired or not, for long-lived signatures.

        Event log entries and dispute bundles are verified years later, after their key has
        left the published JWKS; pass verifiers must keep using `jwks`, which drops retired
        keys once their publication window closes.
        """
        keys = [public_jwk(self.active.public_key())]
        keys.extend(public_jwk(r.public_key) for r in self.retired)
        return {"keys": keys}

    def next_expiry(self, *, now: datetime) -> datetime | None:
        """Return when the JWKS next changes by itself (a retired key drops out), if ever."""
        pending = [r.publish_until for r in self.retired if now < r.publish_until]
        return min(pending, default=None)

    def sign_compact(self, payload: bytes, *, typ: str | None = None) -> str:
        """Sign `payload` as a compact JWS with the active key (kid and typ in the header)."""
        header: dict[str, str] = {"alg": JWS_ALGORITHM, "kid": self._active_kid}
        if typ is not None:
            header["typ"] = typ
        return jws.serialize_compact(header, payload, self._active_jwk, registry=_REGISTRY)

    def sign_detached(self, data: bytes) -> DetachedSignature:
        """Sign raw bytes with the active key."""
        return DetachedSignature(kid=self._active_kid, signature=self.active.sign(data))

    def verify_detached(self, data: bytes, signature: DetachedSignature) -> bool:
        """Verify a detached signature with any key of the ring, published or not."""
        key = self.known_key(signature.kid)
        return key is not None and verify_raw(key, data, signature.signature)


@dataclass(frozen=True)
class JwksKeys:
    """The Ed25519 keys of a JWKS document, by kid (what a gate device holds)."""

    keys: Mapping[str, Ed25519PublicKey]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> JwksKeys:
        """Parse a JWKS document, keeping only Ed25519 signing keys; bad entries are skipped."""
        found: dict[str, Ed25519PublicKey] = {}
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise SigningKeyError("a JWKS document needs a 'keys' list")
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            if entry.get("kty") != "OKP" or entry.get("crv") != CURVE:
                continue
            if entry.get("use", "sig") != "sig" or entry.get("alg", JWS_ALGORITHM) != JWS_ALGORITHM:
                continue
            x, kid = entry.get("x"), entry.get("kid")
            if not isinstance(x, str) or not isinstance(kid, str):
                continue
            try:
                public_key = Ed25519PublicKey.from_public_bytes(_b64url_decode(x))
            except (SigningKeyError, ValueError):
                logger.warning("skipping JWKS entry %r: bad public key", kid)
                continue
            found[kid] = public_key
        return cls(keys=found)

    def published_key(self, kid: str, *, now: datetime) -> Ed25519PublicKey | None:
        """Return the key with `kid`; a JWKS lists only keys that are published."""
        return self.keys.get(kid)


def verify_raw(key: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    """Verify a raw Ed25519 signature."""
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def verify_compact(
    token: str, *, keys: KeyResolver, now: datetime, typ: str | None = None
) -> VerifiedJws:
    """Verify a compact JWS and return its header and payload.

    Order: shape and header (malformed) -> key lookup by kid (unknown key) -> signature (bad
    signature). Nothing in the payload is looked at here; the header is used only to pick a
    key, and its algorithm must be EdDSA whatever it says.
    """
    try:
        obj = jws.extract_compact(token.encode("ascii"), registry=_REGISTRY)
        header = obj.headers()
        _REGISTRY.check_header(header)
    except (JoseError, UnicodeError, ValueError, TypeError) as error:
        raise MalformedJws(f"not a compact JWS: {error}") from error
    if header.get("alg") != JWS_ALGORITHM:
        raise MalformedJws(f"algorithm {header.get('alg')!r} is not accepted")
    # Anything beyond these (crit, b64, jku, embedded keys) changes how a token is read.
    if not set(header) <= _ALLOWED_HEADER:
        raise MalformedJws(f"unexpected header members {sorted(set(header) - _ALLOWED_HEADER)}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise MalformedJws("the header has no kid")
    if typ is not None and header.get("typ") != typ:
        raise MalformedJws(f"typ {header.get('typ')!r} is not {typ!r}")
    public_key = keys.published_key(kid, now=now)
    if public_key is None:
        raise UnknownKey(kid)
    try:
        valid = jws.validate_compact(obj, OKPKey.import_key(public_key), registry=_REGISTRY)
    except JoseError as error:
        raise MalformedJws(f"cannot verify: {error}") from error
    if not valid:
        raise BadSignature(kid)
    return VerifiedJws(kid=kid, header=header, payload=obj.payload)


def load_key_ring(
    *,
    key_text: str | None = None,
    key_file: Path | None = None,
    dev_key_file: Path | None = None,
    retired: Iterable[RetiredKey] = (),
) -> KeyRing:
    """Build the ring from settings: key text (env) wins over a key file, then a dev key file."""
    if key_text:
        active = load_private_key_text(key_text)
    elif key_file is not None:
        active = load_private_key_file(key_file)
    elif dev_key_file is not None:
        active = ensure_dev_key_file(dev_key_file)
    else:
        raise SigningKeyError("no signing key configured")
    return KeyRing(active=active, retired=tuple(retired))


def key_ring_from_settings(settings: Settings) -> KeyRing:
    """Build the platform's ring from settings (the environment, a key file or the dev key)."""
    signing = settings.signing
    retired = parse_retired_keys(signing.retired_keys) if signing.retired_keys else ()
    key_text = signing.key.get_secret_value().strip() if signing.key is not None else None
    if not signing.configured:
        if settings.environment is Environment.PRODUCTION:
            raise SigningKeyError("the development signing key is refused in production")
        logger.warning(
            "signing with the development key in %s: configure HAULPOINT_SIGNING__KEY",
            settings.dev_signing_key_file,
        )
    return load_key_ring(
        key_text=key_text,
        key_file=signing.key_file,
        dev_key_file=settings.dev_signing_key_file,
        retired=retired,
    )
