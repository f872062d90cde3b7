"""JWT verification (HS256 / RS256 / ES256, kid + JWKS) and minting of our own tokens.

Rules that close the classic JWT holes:
- the accepted algorithms are pinned by config, `none` is never among them;
- an HMAC algorithm is verified only with the HMAC secret and an asymmetric one only with a public
  key, so an HS256 token "signed" with the RS256 public key never verifies (no alg confusion);
- `exp` is required; `iss`/`aud` are checked when configured; a small leeway absorbs clock skew.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

import aiohttp
import jwt
from jwt import PyJWK, PyJWKSet
from jwt.algorithms import AllowedPublicKeys
from jwt.types import Options

from camera_service.auth.config import SecurityConfig
from camera_service.auth.identity import Identity
from camera_service.auth.roles import Role
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.types import JsonObject

log = logging.getLogger("camera_service.auth")

HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
SCOPE_CLAIMS = ("cameras", "groups", "tags", "agencies")
STREAM_TOKEN_TYPE = "stream"  # noqa: S105 - a claim value, not a secret
# A refresh of the JWKS on an unknown kid happens at most this often (a flood of random kids must not
# turn into a flood of fetches).
JWKS_MIN_REFRESH_S = 60.0


# A token's claims: untrusted values, checked where they are read.
Claims: TypeAlias = Mapping[str, object]
# What verifies a signature: the HMAC secret, or a public key (PEM file or JWKS).
VerifyKey: TypeAlias = "bytes | AllowedPublicKeys"


class TokenError(Exception):
    """The token is not acceptable; the message is safe to show the client (it names no secret)."""


def _str_set(value: object, claim: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise TokenError(f"claim '{claim}' must be a string or a list of strings")


def parse_role(value: object) -> Role:
    if isinstance(value, str) and value.upper() in ("VIEWER", "OPERATOR", "ADMIN"):
        return Role[value.upper()]
    raise TokenError("claim 'role' must be viewer, operator or admin")


def identity_from_claims(claims: Claims, kind: str = "jwt") -> Identity:
    subject = claims.get("sub", claims.get("user_id"))  # user_id: the established protocol's claim
    if not isinstance(subject, str) or not subject:
        raise TokenError("claim 'sub' is missing")
    scopes = {name: _str_set(claims.get(name), name) for name in SCOPE_CLAIMS}
    exp = claims.get("exp")
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, (int, float))):
        raise TokenError("claim 'exp' must be a number")  # security L1: never a token that cannot expire
    return Identity(
        subject=subject,
        role=parse_role(claims.get("role")),
        kind=kind,
        expires_at=float(exp) if isinstance(exp, (int, float)) else None,
        session_id=str(claims.get("jti") or uuid.uuid4()),
        cameras=scopes["cameras"],
        groups=scopes["groups"],
        tags=scopes["tags"],
        agencies=scopes["agencies"],
        scope_claimed=any(claims.get(name) is not None for name in SCOPE_CLAIMS),
    )


def _time_claim(claims: Claims, name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError("token signature or format invalid")
    return value


class TokenVerifier:
    """Verifies JWTs against the configured keys. Holds the HMAC secret; never logs it."""

    def __init__(self, cfg: SecurityConfig, hmac_secret: bytes, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()
        self._secret = hmac_secret
        self._algorithms = [a for a in cfg.algorithms if a.lower() != "none"]
        self._public_key: AllowedPublicKeys | None = None
        self._jwks: dict[str, PyJWK] = {}
        self._jwks_fetched_at = 0.0
        self._jwks_tried_at = 0.0
        if cfg.jwt_public_key is not None:
            from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
            from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
            from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            pem = load_pem_public_key(Path(cfg.jwt_public_key).read_bytes())
            if not isinstance(pem, RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey):
                raise ValueError(f"jwt_public_key: a {type(pem).__name__} cannot verify JWTs")
            self._public_key = pem
        if cfg.jwks_file is not None:
            self._load_jwks(json.loads(Path(cfg.jwks_file).read_text()))

    def _load_jwks(self, data: JsonObject) -> None:
        keys: dict[str, PyJWK] = {}
        for key in PyJWKSet.from_dict(data).keys:
            keys[key.key_id or ""] = key
        self._jwks = keys

    async def _refresh_jwks(self, force: bool) -> None:
        if not self.cfg.jwks_url:
            return
        now = self.clock.monotonic()
        fresh = now - self._jwks_fetched_at < self.cfg.jwks_cache_s
        if (fresh and not force) or (now - self._jwks_tried_at < JWKS_MIN_REFRESH_S and self._jwks):
            return
        self._jwks_tried_at = now
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(self.cfg.jwks_url) as resp,
            ):
                resp.raise_for_status()
                self._load_jwks(await resp.json(content_type=None))
                self._jwks_fetched_at = now
        except Exception as exc:
            log.warning("JWKS fetch failed; keeping the cached keys", extra={"error": type(exc).__name__})

    async def verify(self, token: str) -> dict[str, object]:
        """The verified claims of `token`, or TokenError."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("not a valid token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenError("token algorithm not accepted")
        key: VerifyKey
        if alg in HMAC_ALGS:
            key = self._secret
        else:
            key = await self._asymmetric_key(header.get("kid"), alg)
        # exp/nbf are checked against the injected clock below, not PyJWT's wall clock.
        options: Options = {
            "require": ["exp"],
            "verify_aud": self.cfg.audience is not None,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        }
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.cfg.audience,
                issuer=self.cfg.issuer,
                leeway=self.cfg.leeway_s,
                options=options,
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("token not yet valid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(f"token lacks the '{exc.claim}' claim") from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise TokenError("token issuer or audience not accepted") from None
        except jwt.PyJWTError:
            raise TokenError("token signature or format invalid") from None
        self._check_times(claims)
        return claims

    def _check_times(self, claims: Claims) -> None:
        now, leeway = self.clock.time(), self.cfg.leeway_s
        exp, nbf = _time_claim(claims, "exp"), _time_claim(claims, "nbf")
        if exp is not None and exp <= now - leeway:
            raise TokenError("token expired")
        if nbf is not None and nbf > now + leeway:
            raise TokenError("token not yet valid")

    async def _asymmetric_key(self, kid: object, alg: str) -> AllowedPublicKeys:
        if self.cfg.jwks_url or self._jwks:
            await self._refresh_jwks(force=False)
            key = self._jwks.get(kid if isinstance(kid, str) else "")
            if key is None and self.cfg.jwks_url:
                await self._refresh_jwks(force=True)  # a rotated key: fetch once more
                key = self._jwks.get(kid if isinstance(kid, str) else "")
            if key is not None:
                if key.algorithm_name and key.algorithm_name != alg:
                    raise TokenError("token algorithm does not match its key")
                public: AllowedPublicKeys = key.key
                return public
        if self._public_key is not None:
            return self._public_key
        raise TokenError("no key to verify this token")

    def mint(self, claims: Claims, ttl_s: float) -> str:
        """An HS256 token signed with the service secret (CLI tokens and stream tokens)."""
        now = int(self.clock.time())
        body = {"iat": now, "exp": now + int(ttl_s), "jti": uuid.uuid4().hex, **claims}
        if self.cfg.issuer and "iss" not in body:
            body["iss"] = self.cfg.issuer
        if self.cfg.audience and "aud" not in body:
            body["aud"] = self.cfg.audience
        return jwt.encode(body, self._secret, algorithm="HS256")


def mint_token(
    secret: bytes,
    *,
    subject: str,
    role: Role,
    ttl_s: float,
    issuer: str | None = None,
    audience: str | None = None,
    **scopes: list[str],
) -> str:
    """Stand-alone minting (CLI, tests): same claim layout as TokenVerifier.mint."""
    now = int(time.time())
    body: dict[str, object] = {
        "sub": subject,
        "role": role.label,
        "iat": now,
        "exp": now + int(ttl_s),
        "jti": uuid.uuid4().hex,
    }
    body.update({k: v for k, v in scopes.items() if v})
    if issuer:
        body["iss"] = issuer
    if audience:
        body["aud"] = audience
    return jwt.encode(body, secret, algorithm="HS256")
