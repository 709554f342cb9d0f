"""QR design options: the validated, immutable description of how a code looks.

Owns :class:`QrDesign` (size, quiet zone, error correction, colours, module and eye shapes, logo,
frame and caption), its JSON-friendly ``from_dict`` / ``to_dict`` form, the logo-size caps per
error-correction level and module shape, and the stable :meth:`QrDesign.cache_key`.

Validation policy (documented contract):

* ``from_dict`` (and direct construction) refuse anything that cannot render reliably by rule:
  unknown keys, malformed values, a dark/light contrast ratio below 3:1 (an eye colour too), a
  logo larger than the measured cap for its module shape, and light-on-dark ("inverted") codes
  unless ``allow_inverted`` is set. A transparent background is judged against white paper.
* Anything that needs a render to judge (does it decode at this size, is the contrast merely
  mediocre, is the module too small for the scanning distance) is reported by ``qa.check``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, Literal, cast, get_args

from scanroute.qr.color import ColorError, contrast_ratio, normalize_hex, relative_luminance
from scanroute.qr.errors import DesignError
from scanroute.qr.logo import Logo, LogoLoader, LogoMime, parse_logo

__all__ = [
    "ECC_LEVELS",
    "ECC_RECOVERY",
    "EYE_LOGO_CAPS",
    "LOGO_CAPS",
    "MIN_CONTRAST",
    "DesignError",
    "Ecc",
    "EyeShape",
    "Frame",
    "Logo",
    "LogoLoader",
    "LogoMime",
    "ModuleShape",
    "QrDesign",
    "logo_cap",
]

Ecc = Literal["L", "M", "Q", "H"]
ModuleShape = Literal["square", "rounded", "dot"]
EyeShape = Literal["square", "rounded", "circle"]
Frame = Literal["none", "box", "banner"]

ECC_LEVELS: tuple[Ecc, ...] = ("L", "M", "Q", "H")
#: Share of codewords each ECC level can restore (ISO/IEC 18004 nominal figures).
ECC_RECOVERY: Mapping[Ecc, float] = {"L": 0.07, "M": 0.15, "Q": 0.25, "H": 0.30}

#: Largest ``logo_scale`` (side of the cleared logo square / symbol width) per module shape and
#: ECC level, measured by ``bench/qr/measure_logo_caps.py``: for each shape × eye shape × level and
#: payloads giving versions 1–15, the largest logo for which the 4 px/module render decodes with
#: zxing-cpp *and* at least 2 of 3 simulated phone captures (tilt, blur, noise) decode; minimum over
#: payloads and the square/rounded eye shapes, × 0.8 safety margin, never above 0.25, and made
#: non-decreasing from L to H. Measured limits before the margin (L/M/Q/H): .20/.27/.36/.33 for
#: every module shape with our cairo rasteriser; an earlier run rasterising through cairosvg found
#: .30 at H for rounded modules, so rounded keeps the lower cap. Small symbols bound M and L
#: (version 4-M fails past 7 of 33 modules, version 2-L past 3 of 25).
LOGO_CAPS: Mapping[ModuleShape, Mapping[Ecc, float]] = {
    "square": {"L": 0.16, "M": 0.21, "Q": 0.25, "H": 0.25},
    "rounded": {"L": 0.16, "M": 0.21, "Q": 0.24, "H": 0.24},
    "dot": {"L": 0.16, "M": 0.21, "Q": 0.25, "H": 0.25},
}
#: Circle eyes are the fragile part: without any logo they already lose 1 of 3 simulated captures
#: for several versions, and a logo quickly tips them over (limit .10 at version 13-H), so only
#: small logos are allowed with them, at every level.
EYE_LOGO_CAPS: Mapping[EyeShape, Mapping[Ecc, float]] = {
    "circle": {"L": 0.08, "M": 0.08, "Q": 0.08, "H": 0.08},
}


def logo_cap(module_shape: ModuleShape, eye_shape: EyeShape, ecc: Ecc) -> float:
    """The largest accepted ``logo_scale`` for a module shape, eye shape and ECC level."""
    cap = LOGO_CAPS[module_shape][ecc]
    eye_caps = EYE_LOGO_CAPS.get(eye_shape)
    return min(cap, eye_caps[ecc]) if eye_caps else cap


#: Contrast floor enforced by validation (QA warns below 4.5:1).
MIN_CONTRAST = 3.0
MAX_CAPTION = 60
MAX_PIXELS = 10_000


def _color(name: str, value: object, *, allow_transparent: bool = False) -> str:
    if allow_transparent and isinstance(value, str) and value.strip().lower() == "transparent":
        return "transparent"
    try:
        return normalize_hex(cast(str, value))
    except ColorError as exc:
        extra = " or 'transparent'" if allow_transparent else ""
        raise DesignError(name, f"{exc}{extra}") from None


@dataclass(frozen=True)
class QrDesign:
    """How a code looks. Build from user input with :meth:`from_dict`; all fields validated.

    ``size_px`` (or ``size_mm`` at ``dpi``) is the width of the whole image: code, quiet zone and
    frame. ``logo_scale`` is the side of the cleared logo square (logo plus its light pad) as a
    fraction of the symbol width (quiet zone excluded), rounded down to an odd module count.
    ``ecc`` is the minimum level requested; :attr:`effective_ecc` raises it when the logo needs it.
    """

    size_px: int | None = None
    size_mm: float | None = None
    dpi: int = 300
    quiet_zone: int = 4
    ecc: Ecc = "M"
    dark: str = "#000000"
    light: str = "#ffffff"
    eye_color: str | None = None
    module_shape: ModuleShape = "square"
    eye_shape: EyeShape = "square"
    logo: Logo | None = None
    logo_scale: float = 0.2
    frame: Frame = "none"
    caption: str | None = None
    caption_color: str | None = None
    frame_color: str | None = None
    allow_inverted: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.size_px is not None and self.size_mm is not None:
            raise DesignError("size_px", "give size_px or size_mm, not both")
        if self.size_px is None and self.size_mm is None:
            set_(self, "size_px", 512)
        _check_int("dpi", self.dpi, 72, 2400)
        if self.size_px is not None:
            _check_int("size_px", self.size_px, 64, MAX_PIXELS)
        if self.size_mm is not None:
            if isinstance(self.size_mm, bool) or not isinstance(self.size_mm, int | float):
                raise DesignError("size_mm", "must be a number")
            if not 5 <= self.size_mm <= 5000:
                raise DesignError("size_mm", "must be between 5 and 5000 mm")
            set_(self, "size_mm", float(self.size_mm))
            if self.pixel_width > MAX_PIXELS:
                raise DesignError(
                    "dpi",
                    f"{self.size_mm:g} mm at {self.dpi} dpi is {self.pixel_width} px; "
                    f"the raster limit is {MAX_PIXELS} px (lower dpi; SVG/PDF stay vector)",
                )
        _check_int("quiet_zone", self.quiet_zone, 2, 16)
        _check_choice("ecc", self.ecc, ECC_LEVELS)
        _check_choice("module_shape", self.module_shape, get_args(ModuleShape))
        _check_choice("eye_shape", self.eye_shape, get_args(EyeShape))
        _check_choice("frame", self.frame, get_args(Frame))
        if not isinstance(self.allow_inverted, bool):
            raise DesignError("allow_inverted", "must be true or false")
        set_(self, "dark", _color("dark", self.dark))
        set_(self, "light", _color("light", self.light, allow_transparent=True))
        for name in ("eye_color", "caption_color", "frame_color"):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, _color(name, value))
        self._check_contrast()
        self._check_caption()
        self._check_logo()

    # -- validation helpers -------------------------------------------------------------
    def _check_contrast(self) -> None:
        paper = self.paper_color
        if self.light == "transparent" and self.allow_inverted:
            raise DesignError(
                "allow_inverted", "an inverted code needs its dark background: light cannot be transparent"
            )
        for name, color in (("dark", self.dark), ("eye_color", self.eye_fill)):
            ratio = contrast_ratio(color, paper)
            if ratio < MIN_CONTRAST:
                raise DesignError(
                    name,
                    f"contrast {ratio:.2f}:1 against {paper} is below {MIN_CONTRAST:g}:1; "
                    "scanners cannot separate the modules",
                )
            if relative_luminance(color) > relative_luminance(paper) and not self.allow_inverted:
                raise DesignError(
                    name,
                    "light modules on a dark background (inverted) are not read by many "
                    "scanner apps; set allow_inverted to use them anyway",
                )
        lum = relative_luminance(paper)
        if (relative_luminance(self.dark) > lum) != (relative_luminance(self.eye_fill) > lum):
            raise DesignError("eye_color", "must be darker than the background when dark is (and vice versa)")

    def _check_caption(self) -> None:
        if self.caption is None:
            return
        if not isinstance(self.caption, str):
            raise DesignError("caption", "must be a string")
        text = unicodedata.normalize("NFC", self.caption.strip())
        if not text:
            object.__setattr__(self, "caption", None)
            return
        if len(text) > MAX_CAPTION:
            raise DesignError("caption", f"is {len(text)} characters; the limit is {MAX_CAPTION}")
        if any(unicodedata.category(ch).startswith("C") for ch in text):
            raise DesignError("caption", "must not contain control characters or line breaks")
        object.__setattr__(self, "caption", text)

    def _check_logo(self) -> None:
        if isinstance(self.logo_scale, bool) or not isinstance(self.logo_scale, int | float):
            raise DesignError("logo_scale", "must be a number")
        object.__setattr__(self, "logo_scale", float(self.logo_scale))
        if self.logo is None:
            if not 0 < self.logo_scale <= 1:
                raise DesignError("logo_scale", "must be between 0 and 1")
            return
        if not isinstance(self.logo, Logo):
            raise DesignError("logo", "must be a Logo")
        cap = logo_cap(self.module_shape, self.eye_shape, "H")
        if not 0.05 <= self.logo_scale <= cap:
            raise DesignError(
                "logo_scale",
                f"must be between 0.05 and {cap:g} for {self.module_shape} modules with "
                f"{self.eye_shape} eyes (the largest logo measured to decode at error correction H)",
            )

    # -- derived values -------------------------------------------------------------------
    @property
    def effective_ecc(self) -> Ecc:
        """The ECC level used: ``ecc``, raised to the lowest level whose logo cap fits."""
        if self.logo is None:
            return self.ecc
        for level in ECC_LEVELS[ECC_LEVELS.index(self.ecc) :]:
            if self.logo_scale <= logo_cap(self.module_shape, self.eye_shape, level) + 1e-9:
                return level
        return "H"  # unreachable: validation caps logo_scale at the H cap

    @property
    def paper_color(self) -> str:
        """The background colour, with ``transparent`` judged as white paper."""
        return "#ffffff" if self.light == "transparent" else self.light

    @property
    def eye_fill(self) -> str:
        """Colour of the finder patterns (``eye_color`` or ``dark``)."""
        return self.eye_color or self.dark

    @property
    def frame_fill(self) -> str:
        """Colour of the frame (``frame_color`` or ``dark``)."""
        return self.frame_color or self.dark

    @property
    def caption_fill(self) -> str:
        """Colour of the caption text (light on a banner, dark otherwise, unless set)."""
        if self.caption_color:
            return self.caption_color
        return self.paper_color if self.frame == "banner" else self.dark

    @property
    def pixel_width(self) -> int:
        """Raster width of the whole image in pixels (``size_mm`` converted at ``dpi``)."""
        if self.size_mm is not None:
            return max(1, round(self.size_mm / 25.4 * self.dpi))
        return cast(int, self.size_px)

    @property
    def is_plain(self) -> bool:
        """True for square modules and eyes in one colour, no logo, frame or caption."""
        return (
            self.module_shape == "square"
            and self.eye_shape == "square"
            and self.eye_fill == self.dark
            and self.logo is None
            and self.frame == "none"
            and self.caption is None
        )

    @property
    def inverted(self) -> bool:
        """True when the modules are lighter than the background."""
        return relative_luminance(self.dark) > relative_luminance(self.paper_color)

    # -- (de)serialisation -----------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, logo_loader: LogoLoader | None = None) -> QrDesign:
        """Build and validate a design from JSON-like data; raise :class:`DesignError`.

        ``logo`` is ``{"mime": "image/png"|"image/svg+xml", "data": base64 str | bytes}`` or
        ``{"ref": id}`` resolved by ``logo_loader(id) -> (bytes, mime)``.
        """
        if not isinstance(data, Mapping):
            raise DesignError("design", "must be an object")
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise DesignError(str(key), "unknown design option")
            if value is None:
                continue
            kwargs[key] = parse_logo(value, logo_loader) if key == "logo" else value
        return cls(**kwargs)

    def to_dict(self, *, include_logo_data: bool = True) -> dict[str, Any]:
        """JSON-ready dict that :meth:`from_dict` turns back into an equal design."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "logo" and value is not None:
                logo = cast(Logo, value)
                value = {"mime": logo.mime, "sha256": logo.digest}
                if logo.ref is not None:
                    value["ref"] = logo.ref
                if include_logo_data or logo.ref is None:
                    value["data"] = base64.b64encode(logo.data).decode("ascii")
            out[f.name] = value
        return out

    @cached_property
    def fingerprint(self) -> str:
        """Canonical JSON of the normalised options (logo by digest); computed once."""
        opts = self.to_dict(include_logo_data=False)
        opts.pop("logo")
        opts.update(
            ecc=self.effective_ecc,
            eye_color=self.eye_fill,
            frame_color=self.frame_fill,
            caption_color=self.caption_fill,
            pixel_width=self.pixel_width,
            logo=self.logo.digest if self.logo else None,
            logo_mime=self.logo.mime if self.logo else None,
            logo_scale=self.logo_scale if self.logo else None,
            v=1,
        )
        return json.dumps(opts, sort_keys=True, ensure_ascii=False)

    def cache_key(self, content: str) -> str:
        """Stable SHA-256 key over (content, normalised options, logo digest)."""
        return hashlib.sha256(f"{self.fingerprint}\x00{content}".encode()).hexdigest()


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            raise DesignError(name, "must be an integer (no decimal point)")
        raise DesignError(name, "must be an integer")
    if not lo <= value <= hi:
        raise DesignError(name, f"must be between {lo} and {hi}")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise DesignError(name, f"must be one of {', '.join(choices)}; got {value!r}")
