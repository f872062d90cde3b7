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
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from jwt import PyJWK, PyJWKSet

from camera_service.auth.config import SecurityConfig
from camera_service.auth.identity import Identity
from camera_service.auth.roles import Role
from camera_service.core.clock import Clock, SystemClock

log = logging.getLogger("camera_service.auth")

HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
SCOPE_CLAIMS = ("cameras", "groups", "tags", "agencies")
STREAM_TOKEN_TYPE = "stream"  # noqa: S105 - a claim value, not a secret
# A refresh of the JWKS on an unknown kid happens at most this often (a flood of random kids must not
# turn into a flood of fetches).
JWKS_MIN_REFRESH_S = 60.0


class TokenError(Exception):
    """The token is not acceptable; the message is safe to show the client (it names no secret)."""


def _str_set(value: Any, claim: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise TokenError(f"claim '{claim}' must be a string or a list of strings")


def parse_role(value: Any) -> Role:
    if isinstance(value, str) and value.upper() in ("VIEWER", "OPERATOR", "ADMIN"):
        return Role[value.upper()]
    raise TokenError("claim 'role' must be viewer, operator or admin")


def identity_from_claims(claims: dict[str, Any], kind: str = "jwt") -> Identity:
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


class TokenVerifier:
    """Verifies JWTs against the configured keys. Holds the HMAC secret; never logs it."""

    def __init__(self, cfg: SecurityConfig, hmac_secret: bytes, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()
        self._secret = hmac_secret
        self._algorithms = [a for a in cfg.algorithms if a.lower() != "none"]
        self._public_key: Any = None
        self._jwks: dict[str, PyJWK] = {}
        self._jwks_fetched_at = 0.0
        self._jwks_tried_at = 0.0
        if cfg.jwt_public_key is not None:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            self._public_key = load_pem_public_key(Path(cfg.jwt_public_key).read_bytes())
        if cfg.jwks_file is not None:
            self._load_jwks(json.loads(Path(cfg.jwks_file).read_text()))

    def _load_jwks(self, data: dict[str, Any]) -> None:
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

    async def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`, or TokenError."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("not a valid token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenError("token algorithm not accepted")
        key: Any
        if alg in HMAC_ALGS:
            key = self._secret
        else:
            key = await self._asymmetric_key(header.get("kid"), alg)
        # exp/nbf are checked against the injected clock below, not PyJWT's wall clock.
        options: dict[str, Any] = {
            "require": ["exp"],
            "verify_aud": self.cfg.audience is not None,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        }
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.cfg.audience,
                issuer=self.cfg.issuer,
                leeway=self.cfg.leeway_s,
                options=options,  # type: ignore[arg-type]
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

    def _check_times(self, claims: dict[str, Any]) -> None:
        now, leeway = self.clock.time(), self.cfg.leeway_s
        exp, nbf = claims.get("exp"), claims.get("nbf")
        for value in (exp, nbf):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise TokenError("token signature or format invalid")
        if exp is not None and exp <= now - leeway:
            raise TokenError("token expired")
        if nbf is not None and nbf > now + leeway:
            raise TokenError("token not yet valid")

    async def _asymmetric_key(self, kid: Any, alg: str) -> Any:
        if self.cfg.jwks_url or self._jwks:
            await self._refresh_jwks(force=False)
            key = self._jwks.get(kid or "")
            if key is None and self.cfg.jwks_url:
                await self._refresh_jwks(force=True)  # a rotated key: fetch once more
                key = self._jwks.get(kid or "")
            if key is not None:
                if key.algorithm_name and key.algorithm_name != alg:
                    raise TokenError("token algorithm does not match its key")
                return key.key
        if self._public_key is not None:
            return self._public_key
        raise TokenError("no key to verify this token")

    def mint(self, claims: dict[str, Any], ttl_s: float) -> str:
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
    body: dict[str, Any] = {
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
