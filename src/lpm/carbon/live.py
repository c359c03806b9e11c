"""Optional live carbon intensity from the Electricity Maps API v3.

``carbon-intensity/latest`` and ``carbon-intensity/past`` with the ``auth-token`` header.
The token comes from ``ELECTRICITYMAPS_API_TOKEN`` (or a parameter) and never appears in
logs, error messages or results. Answers are kept in a small JSON cache
(``$LPM_CACHE_DIR``, else ``$XDG_CACHE_HOME/lpm``, else ``~/.cache/lpm``): a latest value
for ``LATEST_TTL_S``, a past value for good. When the API cannot be used, ``live_intensity``
logs a warning and falls back to the offline tables. The base URL can be changed with
``LPM_ELECTRICITYMAPS_URL`` (tests point it at a local server).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lpm.carbon.intensity import BASES, Intensity, IntensityDatabase
from lpm.errors import LpmError
from lpm.io import atomic_write_text

log = logging.getLogger(__name__)

ENV_TOKEN = "ELECTRICITYMAPS_API_TOKEN"
ENV_URL = "LPM_ELECTRICITYMAPS_URL"
ENV_CACHE_DIR = "LPM_CACHE_DIR"
DEFAULT_BASE_URL = "https://api.electricitymaps.com"
DEFAULT_TIMEOUT_S = 10.0
LATEST_TTL_S = 900.0
CACHE_MAX_ENTRIES = 256
CACHE_FILE = "electricitymaps.json"
LIVE_SOURCE = "electricitymaps_live"


class LiveIntensityError(LpmError):
    """The live provider could not give a value (no token, network, bad answer)."""


def default_cache_dir() -> Path:
    """``$LPM_CACHE_DIR``, else ``$XDG_CACHE_HOME/lpm``, else ``~/.cache/lpm``."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lpm"


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


class _Cache:
    """A small JSON file of API answers keyed by request."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / CACHE_FILE if directory is not None else None

    def _load(self) -> dict:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str, max_age_s: float | None) -> dict | None:
        entry = self._load().get(key)
        if not isinstance(entry, dict) or "data" not in entry:
            return None
        age_s = time.time() - float(entry.get("fetched_at", 0))
        if max_age_s is not None and age_s > max_age_s:
            return None
        return entry["data"]

    def put(self, key: str, data: dict) -> None:
        if self.path is None:
            return
        entries = self._load()
        entries[key] = {"fetched_at": time.time(), "data": data}
        if len(entries) > CACHE_MAX_ENTRIES:
            newest = sorted(entries.items(), key=lambda kv: kv[1].get("fetched_at", 0))
            entries = dict(newest[-CACHE_MAX_ENTRIES:])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(entries))
        except OSError as exc:
            log.debug("could not write the live-intensity cache: %s", exc)


@dataclass(frozen=True)
class ElectricityMapsClient:
    """A minimal Electricity Maps v3 client (stdlib urllib, no extra dependency)."""

    token: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout_s: float = DEFAULT_TIMEOUT_S
    cache_dir: Path | None = None
    latest_ttl_s: float = LATEST_TTL_S

    @classmethod
    def from_env(
        cls,
        *,
        token: str | None = None,
        base_url: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache_dir: Path | str | None = None,
    ) -> ElectricityMapsClient:
        """Token, URL and cache folder from the arguments, else the environment."""
        token = token or os.environ.get(ENV_TOKEN, "")
        if not token:
            raise LiveIntensityError(
                f"no Electricity Maps token; set {ENV_TOKEN} to use live intensity."
            )
        if not token.isprintable() or token != token.strip():
            raise LiveIntensityError(
                f"the Electricity Maps token in {ENV_TOKEN} holds spaces or control characters "
                "(a newline?); set it to the token alone."
            )
        base = base_url or os.environ.get(ENV_URL) or DEFAULT_BASE_URL
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        return cls(token=token, base_url=base, timeout_s=timeout_s, cache_dir=folder)

    def latest(self, zone: str, *, basis: str | None = None) -> dict:
        """The ``carbon-intensity/latest`` answer for a zone (cached for a while)."""
        return self._get("carbon-intensity/latest", {"zone": zone}, basis, self.latest_ttl_s)

    def past(self, zone: str, when: datetime, *, basis: str | None = None) -> dict:
        """The ``carbon-intensity/past`` answer for a zone at a UTC time (cached)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._get("carbon-intensity/past", {"zone": zone, "datetime": stamp}, basis, None)

    def _get(self, endpoint: str, params: dict, basis: str | None, ttl_s: float | None) -> dict:
        if basis is not None:
            if basis not in BASES:
                raise LpmError(f"basis must be direct or lifecycle, not {basis!r}.")
            params = {**params, "emissionFactorType": basis}
        query = urllib.parse.urlencode(sorted(params.items()))
        url = f"{self.base_url.rstrip('/')}/v3/{endpoint}?{query}"
        cache = _Cache(self.cache_dir)
        cached = cache.get(url, ttl_s)
        if cached is not None:
            return cached
        request = urllib.request.Request(
            url, headers={"auth-token": self.token, "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise LiveIntensityError(
                _redact(f"Electricity Maps answered HTTP {exc.code} for {endpoint}.", self.token)
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LiveIntensityError(
                _redact(f"Electricity Maps could not be reached ({reason}).", self.token)
            ) from None
        except ValueError:
            raise LiveIntensityError("Electricity Maps sent an answer that is not JSON.") from None
        if not isinstance(data, dict):
            raise LiveIntensityError("Electricity Maps sent an unexpected answer.")
        answer_value(data)  # a bad answer is never kept: the next call asks again
        cache.put(url, data)
        return data


def answer_value(data: dict) -> float:
    """The answer's carbon intensity, or LiveIntensityError unless it is a number >= 0."""
    value = data.get("carbonIntensity")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LiveIntensityError("Electricity Maps sent no carbon intensity for this zone.")
    if value < 0:
        raise LiveIntensityError(f"Electricity Maps sent a negative intensity ({value} g/kWh).")
    return float(value)


def intensity_from_answer(
    data: dict, region: str, name: str, basis: str | None = None
) -> Intensity:
    """Turn an Electricity Maps carbon-intensity answer into an :class:`Intensity`."""
    value = answer_value(data)
    stamp = str(data.get("datetime", ""))
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise LiveIntensityError("Electricity Maps sent no valid datetime.") from None
    answer_basis = data.get("emissionFactorType") or basis or "lifecycle"
    if answer_basis not in BASES:
        raise LiveIntensityError(f"Electricity Maps sent an unknown basis {answer_basis!r}.")
    return Intensity(
        region=region,
        name=name,
        g_per_kwh=float(value),
        source=LIVE_SOURCE,
        year=when.year,
        month=when.month,
        hour=when.hour,
        basis=answer_basis,
    )


def live_intensity(
    region: str,
    *,
    when: datetime | None = None,
    basis: str | None = None,
    token: str | None = None,
    base_url: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cache_dir: Path | str | None = None,
    database: IntensityDatabase | None = None,
    fallback: bool = True,
) -> Intensity:
    """Live intensity for a region (latest, or at ``when``), else the offline value.

    With ``fallback=False`` a failure raises :class:`LiveIntensityError` instead.
    """
    db = database or IntensityDatabase.default()
    code = db.resolve_region(region)
    try:
        client = ElectricityMapsClient.from_env(
            token=token, base_url=base_url, timeout_s=timeout_s, cache_dir=cache_dir
        )
        if when is None:
            data = client.latest(code, basis=basis)
        else:
            data = client.past(code, when, basis=basis)
        return intensity_from_answer(data, code, db.name_of(code), basis)
    except LiveIntensityError as exc:
        if not fallback:
            raise
        log.warning("live carbon intensity unavailable: %s Using the offline tables.", exc)
    if when is not None and when.year in db.years(code, basis=basis):
        return db.lookup(code, year=when.year, basis=basis)
    return db.lookup(code, basis=basis)
