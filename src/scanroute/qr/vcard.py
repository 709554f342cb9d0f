"""Contact payloads: vCard 3.0 (RFC 2426), vCard 4.0 (RFC 6350) and MeCard, with parsers.

Owns :class:`Contact` (N, FN, ORG, TITLE, TEL, EMAIL, URL, ADR, NOTE) and its validation, the
builders ``build_vcard`` / ``build_mecard`` and the parsers ``parse_vcard`` / ``parse_mecard``.

Output: CRLF line endings, TEXT values escaped (``\\ , ;`` and line breaks), lines folded at 75
octets. Phone numbers are normalised to digits with an optional leading ``+`` (visual separators
dropped) so vCard 4.0's ``tel:`` URIs and 3.0's text values carry the same number. MeCard cannot
carry TITLE, name prefixes/suffixes, additional names, or phone/address kinds; ``build_mecard``
leaves them out (``Contact.mecard_subset()`` is what survives).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from scanroute.qr._text import (
    CRLF,
    PayloadError,
    escape_text,
    fold,
    parse_content_lines,
    split_escaped,
    unescape_text,
)

__all__ = [
    "Address",
    "Contact",
    "Phone",
    "VCardVersion",
    "build_mecard",
    "build_vcard",
    "normalize_phone",
    "parse_mecard",
    "parse_vcard",
]

VCardVersion = Literal["3.0", "4.0"]
PhoneKind = Literal["cell", "work", "home", "voice", "fax"]
AddressKind = Literal["work", "home"]
_PHONE_KINDS = ("cell", "work", "home", "voice", "fax")
_EMAIL_RE = re.compile(r"[^@\s;,:<>\"\\]+@[^@\s;,:<>\"\\]+\.[^@\s;,:<>\"\\]+")
_URL_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+")
_SEPARATORS = re.compile(r"[\s().\-/]")


def normalize_phone(number: str, field_name: str = "number") -> str:
    """Strip visual separators and check an E.164-ish number: optional ``+`` and 3–15 digits."""
    if not isinstance(number, str):
        raise PayloadError(field_name, "must be a string")
    compact = _SEPARATORS.sub("", number.strip())
    if not re.fullmatch(r"\+?[0-9]{3,15}", compact):
        raise PayloadError(
            field_name, f"{number!r} is not a phone number (+ and 3–15 digits, e.g. +4930123456)"
        )
    return compact


def _clean(value: object, name: str, *, max_len: int = 1000, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise PayloadError(name, "must be a string")
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(value) > max_len:
        raise PayloadError(name, f"is longer than {max_len} characters")
    if not multiline and "\n" in value:
        raise PayloadError(name, "must be a single line")
    if any(ord(ch) < 32 and ch != "\n" for ch in value):
        raise PayloadError(name, "must not contain control characters")
    return value


@dataclass(frozen=True)
class Phone:
    """A telephone number and its kind (cell, work, home, voice, fax)."""

    number: str
    kind: PhoneKind = "cell"

    def __post_init__(self) -> None:
        object.__setattr__(self, "number", normalize_phone(self.number))
        if self.kind not in _PHONE_KINDS:
            raise PayloadError("kind", f"must be one of {', '.join(_PHONE_KINDS)}")


@dataclass(frozen=True)
class Address:
    """A postal address (ADR components in vCard order) and its kind (work or home)."""

    street: str = ""
    locality: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    po_box: str = ""
    extended: str = ""
    kind: AddressKind = "work"

    def __post_init__(self) -> None:
        for name in ("street", "locality", "region", "postal_code", "country", "po_box"):
            object.__setattr__(self, name, _clean(getattr(self, name), name, max_len=200))
        object.__setattr__(self, "extended", _clean(self.extended, "extended", max_len=200))
        if self.kind not in ("work", "home"):
            raise PayloadError("kind", "must be work or home")
        if not any((self.street, self.locality, self.region, self.postal_code, self.country)):
            raise PayloadError("street", "an address needs at least one component")

    @property
    def components(self) -> tuple[str, ...]:
        """ADR components: PO box, extended, street, locality, region, postal code, country."""
        return (
            self.po_box,
            self.extended,
            self.street,
            self.locality,
            self.region,
            self.postal_code,
            self.country,
        )


@dataclass(frozen=True)
class Contact:
    """A person or organisation. ``formatted_name`` (FN) is derived from N when left empty."""

    family_name: str = ""
    given_name: str = ""
    additional_names: str = ""
    prefix: str = ""
    suffix: str = ""
    formatted_name: str = ""
    organization: str = ""
    title: str = ""
    phones: tuple[Phone, ...] = ()
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = field(default=())
    note: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("family_name", "given_name", "additional_names", "prefix", "suffix"):
            set_(self, name, _clean(getattr(self, name), name, max_len=100))
        for name in ("formatted_name", "organization", "title"):
            set_(self, name, _clean(getattr(self, name), name, max_len=200))
        set_(self, "note", _clean(self.note, "note", max_len=1000, multiline=True))
        for name in ("phones", "emails", "urls", "addresses"):
            set_(self, name, tuple(getattr(self, name)))
        for i, email in enumerate(self.emails):
            if not isinstance(email, str) or not _EMAIL_RE.fullmatch(email):
                raise PayloadError(f"emails[{i}]", f"{email!r} is not an e-mail address")
        for i, url in enumerate(self.urls):
            if not isinstance(url, str) or not _URL_RE.fullmatch(url):
                raise PayloadError(f"urls[{i}]", f"{url!r} is not an absolute URL")
        if not self.formatted_name:
            parts = (self.prefix, self.given_name, self.additional_names, self.family_name)
            derived = " ".join(p for p in (*parts, self.suffix) if p)
            set_(self, "formatted_name", derived or self.organization)
        if not self.formatted_name:
            raise PayloadError("family_name", "a contact needs a name or an organization")

    def mecard_subset(self) -> Contact:
        """The contact as MeCard can carry it (what ``parse_mecard(build_mecard(c))`` returns)."""
        family, given = self.family_name, self.given_name
        if not (family or given):
            family = self.formatted_name
        if not given and family == self.organization:
            family = ""
        return Contact(
            family_name=family,
            given_name=given,
            organization=self.organization,
            phones=tuple(Phone(p.number) for p in self.phones),
            emails=self.emails,
            urls=self.urls,
            addresses=tuple(replace(a, kind="work") for a in self.addresses),
            note=self.note,
        )


def build_vcard(contact: Contact, version: VCardVersion = "3.0") -> str:
    """Serialise a contact as vCard 3.0 or 4.0 (CRLF, escaped, folded at 75 octets)."""
    if version not in ("3.0", "4.0"):
        raise PayloadError("version", "must be 3.0 or 4.0")
    v4 = version == "4.0"
    c = contact
    n = ";".join(
        escape_text(x) for x in (c.family_name, c.given_name, c.additional_names, c.prefix, c.suffix)
    )
    lines = ["BEGIN:VCARD", f"VERSION:{version}", f"N:{n}", f"FN:{escape_text(c.formatted_name)}"]
    if c.organization:
        lines.append(f"ORG:{escape_text(c.organization)}")
    if c.title:
        lines.append(f"TITLE:{escape_text(c.title)}")
    for p in c.phones:
        if v4:
            lines.append(f"TEL;VALUE=uri;TYPE={p.kind}:tel:{p.number}")
        else:
            lines.append(f"TEL;TYPE={p.kind.upper()}:{p.number}")
    for email in c.emails:
        lines.append(f"EMAIL:{email}" if v4 else f"EMAIL;TYPE=INTERNET:{email}")
    for url in c.urls:
        lines.append(f"URL:{url}")
    for a in c.addresses:
        kind = a.kind if v4 else a.kind.upper()
        lines.append(f"ADR;TYPE={kind}:" + ";".join(escape_text(x) for x in a.components))
    if c.note:
        lines.append(f"NOTE:{escape_text(c.note)}")
    lines.append("END:VCARD")
    return CRLF.join(fold(line) for line in lines) + CRLF


def parse_vcard(text: str) -> Contact:
    """Parse one vCard (2.1-style TYPE params, 3.0 or 4.0) into a :class:`Contact`."""
    lines = parse_content_lines(text)
    names = [ln.name for ln in lines]
    if not names or names[0] != "BEGIN" or lines[0].value.upper() != "VCARD":
        raise PayloadError("payload", "does not start with BEGIN:VCARD")
    if "END" not in names:
        raise PayloadError("payload", "has no END:VCARD")
    kw: dict[str, object] = {}
    phones: list[Phone] = []
    emails: list[str] = []
    urls: list[str] = []
    addresses: list[Address] = []
    for ln in lines:
        types = [t.lower() for t in ln.params.get("TYPE", [])]
        if ln.name == "N":
            comps = [unescape_text(x) for x in split_escaped(ln.value, ";")] + [""] * 5
            keys = ("family_name", "given_name", "additional_names", "prefix", "suffix")
            kw.update(zip(keys, comps[:5], strict=True))
        elif ln.name == "FN":
            kw["formatted_name"] = unescape_text(ln.value)
        elif ln.name == "ORG":
            kw["organization"] = unescape_text(ln.value)
        elif ln.name == "TITLE":
            kw["title"] = unescape_text(ln.value)
        elif ln.name == "NOTE":
            kw["note"] = unescape_text(ln.value)
        elif ln.name == "TEL":
            number = ln.value[4:] if ln.value.lower().startswith("tel:") else ln.value
            kind = next((t for t in types if t in _PHONE_KINDS), "cell")
            phones.append(Phone(unescape_text(number), kind))  # type: ignore[arg-type]
        elif ln.name == "EMAIL":
            emails.append(unescape_text(ln.value))
        elif ln.name == "URL":
            urls.append(ln.value)
        elif ln.name == "ADR":
            comps = [unescape_text(x) for x in split_escaped(ln.value, ";")] + [""] * 7
            po, ext, street, loc, region, postal, country = comps[:7]
            addresses.append(
                Address(
                    street=street,
                    locality=loc,
                    region=region,
                    postal_code=postal,
                    country=country,
                    po_box=po,
                    extended=ext,
                    kind="home" if "home" in types else "work",
                )
            )
    return Contact(
        **kw,  # type: ignore[arg-type]
        phones=tuple(phones),
        emails=tuple(emails),
        urls=tuple(urls),
        addresses=tuple(addresses),
    )


# -- MeCard (NTT docomo; escaping of \ ; , : per the ZXing reading of the spec) --------------
def _me(value: str) -> str:
    out = value.replace("\\", "\\\\")
    for ch in ";,:":
        out = out.replace(ch, "\\" + ch)
    return out


def build_mecard(contact: Contact) -> str:
    """Serialise a contact as ``MECARD:N:family,given;TEL:…;;`` (see module notes)."""
    c = contact
    fields: list[str] = []
    if c.family_name or c.given_name:
        fields.append(f"N:{_me(c.family_name)},{_me(c.given_name)}")
    else:
        fields.append(f"N:{_me(c.formatted_name)},")
    if c.organization:
        fields.append(f"ORG:{_me(c.organization)}")
    fields += [f"TEL:{p.number}" for p in c.phones]
    fields += [f"EMAIL:{_me(e)}" for e in c.emails]
    fields += [f"URL:{_me(u)}" for u in c.urls]
    fields += ["ADR:" + ",".join(_me(x) for x in a.components) for a in c.addresses]
    if c.note:
        fields.append(f"NOTE:{_me(c.note)}")
    return "MECARD:" + "".join(f + ";" for f in fields) + ";"


def parse_mecard(text: str) -> Contact:
    """Parse a MeCard into a :class:`Contact` (only the fields MeCard carries)."""
    if not text[:7].upper() == "MECARD:":
        raise PayloadError("payload", "does not start with MECARD:")
    kw: dict[str, object] = {}
    phones: list[Phone] = []
    emails: list[str] = []
    urls: list[str] = []
    addresses: list[Address] = []
    for item in split_escaped(text[7:], ";"):
        if not item:
            continue
        key, _, value = item.partition(":")
        key = key.upper()
        if key == "N":
            family, given, *_ = [unescape_text(x) for x in split_escaped(value, ",")] + ["", ""]
            kw["family_name"], kw["given_name"] = family, given
        elif key == "ORG":
            kw["organization"] = unescape_text(value)
        elif key == "TEL":
            phones.append(Phone(unescape_text(value)))
        elif key == "EMAIL":
            emails.append(unescape_text(value))
        elif key == "URL":
            urls.append(unescape_text(value))
        elif key == "NOTE":
            kw["note"] = unescape_text(value)
        elif key == "ADR":
            comps = [unescape_text(x) for x in split_escaped(value, ",")] + [""] * 7
            po, ext, street, loc, region, postal, country = comps[:7]
            addresses.append(Address(street, loc, region, postal, country, po, ext))
    if not kw.get("given_name") and kw.get("family_name") == kw.get("organization"):
        kw["family_name"] = ""
    return Contact(
        **kw,  # type: ignore[arg-type]
        phones=tuple(phones),
        emails=tuple(emails),
        urls=tuple(urls),
        addresses=tuple(addresses),
    )
