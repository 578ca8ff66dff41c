"""From a raw DECP record to a contract with the rulebook's facts, each fact with the basis it was read on.

The DECP do not carry the rulebook's facts: buyer category, nature, the value of the need and the
exceptions (urgency, single operator…) are read from proxies (SIREN, name, CPV code, object) or
presumed. Everything here says where it came from, so a flag can be judged by a human; what cannot be
read is left unknown, never guessed (docs/audit.md, "Correspondance").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from cpc_rules.audit.read import Raw
from cpc_rules.record import field, frozen, mutable

# ------------------------------------------------------------------ text helpers


def fold(s: Any) -> str:
    """Upper case, without accents, apostrophes unified, spaces collapsed: for matching labels and names."""
    t = unicodedata.normalize("NFKD", str(s or ""))
    t = "".join(c for c in t if not unicodedata.combining(c)).upper()
    t = t.replace("’", "'").replace("`", "'")
    return re.sub(r"\s+", " ", t).strip()


# ------------------------------------------------------------------ amounts and dates

IMPLAUSIBLE_HIGH = Decimal(999999999)  # 999 999 999 € and more: a filler or a typo, never decided
CENT = Decimal("0.01")


def parse_amount(raw: Any, what: str = "montant") -> tuple[Decimal | None, str | None]:
    """(amount in € HT, None) or (None, the reason it cannot be used)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, f"{what} absent"
    if isinstance(raw, bool):
        return None, f"{what} illisible « {raw} »"
    if isinstance(raw, float):
        if math.isnan(raw):
            return None, f"{what} illisible : NaN (nombre flottant non défini)"
        if raw in (float("inf"), float("-inf")):
            return None, f"{what} illisible : infini"
        raw = repr(raw)
    text = str(raw).strip().replace("\u00a0", "").replace(" ", "").replace("€", "")
    if isinstance(raw, str) and "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None, f"{what} illisible « {raw} »"
    if not d.is_finite():
        return None, f"{what} illisible « {raw} »"
    if d < 0:
        return None, f"{what} négatif ({raw} €)"
    if d == 0:
        return None, f"{what} invraisemblable : 0 €"
    if d >= IMPLAUSIBLE_HIGH:
        return None, f"{what} invraisemblable : {raw} € (≥ 999 999 999 €, valeur de remplissage ou erreur de saisie)"
    amount = d.quantize(CENT)  # published in euros: cents are the unit of every threshold
    if amount <= 1:  # after rounding: 1,004 € is 1,00 €, a filler like 1 €
        return None, f"{what} invraisemblable : {raw} € (valeur de remplissage)"
    return amount, None


_DATE = re.compile(r"^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(.*)$")
_DATE_FR = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_SUFFIX = re.compile(r"^(T[\d:.]+)?(Z|[+-]\d{2}:?\d{2})?\s*$")
EARLIEST = dt.date(2000, 1, 1)


def parse_date(raw: Any, what: str = "date de notification", today: dt.date | None = None) -> tuple[dt.date | None, str | None, str | None]:
    """(date, problem, note): a problem makes the date unusable; a note (a time zone dropped) does not."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, f"{what} absente", None
    s = str(raw)
    note = None
    m = _DATE.match(s)
    if m:
        y, mo, d, rest = m.groups()
        if rest.strip():
            if not _SUFFIX.match(rest):
                return None, f"{what} illisible « {s} »", None
            note = f"{what} « {s} » : suffixe « {rest.strip()} » ignoré (jour calendaire seul retenu)"
    else:
        m2 = _DATE_FR.match(s)
        if not m2:
            return None, f"{what} illisible « {s} »", None
        d, mo, y = m2.groups()
        note = f"{what} « {s} » lue au format JJ/MM/AAAA"
    try:
        date = dt.date(int(y), int(mo), int(d))
    except ValueError:
        return None, f"{what} impossible « {s} »", None
    if date < EARLIEST:
        return None, f"{what} invraisemblable « {s} » (avant 2000)", None
    limit = (today or dt.date.today()) + dt.timedelta(days=366)
    if date > limit:
        return None, f"{what} invraisemblable « {s} » (dans le futur)", None
    return date, None, note


# ------------------------------------------------------------------ procedures

PROCEDURES = {
    "PROCEDURE ADAPTEE": "procédure_adaptée",
    "APPEL D'OFFRES OUVERT": "appel_d_offres",
    "APPEL D'OFFRES RESTREINT": "appel_d_offres",
    "APPEL D'OFFRES": "appel_d_offres",
    "PROCEDURE AVEC NEGOCIATION": "procédure_avec_négociation",
    "PROCEDURE CONCURRENTIELLE AVEC NEGOCIATION": "procédure_avec_négociation",
    "PROCEDURE NEGOCIEE AVEC MISE EN CONCURRENCE PREALABLE": "procédure_avec_négociation",
    "MARCHE PASSE SANS PUBLICITE NI MISE EN CONCURRENCE PREALABLE": "sans_publicité_ni_mise_en_concurrence",
    "MARCHE NEGOCIE SANS PUBLICITE NI MISE EN CONCURRENCE PREALABLE": "sans_publicité_ni_mise_en_concurrence",
    "MARCHE PUBLIC NEGOCIE SANS PUBLICITE NI MISE EN CONCURRENCE PREALABLE": "sans_publicité_ni_mise_en_concurrence",
    "DIALOGUE COMPETITIF": "dialogue_compétitif",
}
CONCESSION_PROCEDURES = {"PROCEDURE NEGOCIEE OUVERTE", "PROCEDURE NON NEGOCIEE OUVERTE", "PROCEDURE NEGOCIEE RESTREINTE", "PROCEDURE NON NEGOCIEE RESTREINTE"}


def map_procedure(raw: Any) -> tuple[str | None, str | None]:
    """(rulebook procedure, None) or (None, why not): the DECP labels of schemas 1.4, 1.5 and 2.0 and their variants."""
    label = fold(raw).rstrip(".")
    if not label:
        return None, "procédure absente"
    p = PROCEDURES.get(label)
    if p:
        return p, None
    return None, f"procédure inconnue « {raw} »"


# ------------------------------------------------------------------ buyers

_NAME_RULES: list[tuple[re.Pattern[str], str, str | None, bool | None]] = [
    # (pattern on the folded name, buyer type, rulebook category, État ou collectivité au sens de R2131-12)
    (
        re.compile(
            r"\bMINISTERE\b|\bPREFECTURE\b|\bDIRECTION (REGIONALE|DEPARTEMENTALE|INTERDEPARTEMENTALE|INTERREGIONALE)\b|\bDREAL\b|\bDIRECCTE\b"
            r"|\bSGAMI\b|\bSGAR\b|\bRECTORAT\b|\bGENDARMERIE\b|\bPOLICE NATIONALE\b"
        ),
        "État (services)",
        "autorité_centrale",
        True,
    ),
    (
        re.compile(r"\bCPAM\b|\bCAF\b|\bURSSAF\b|\bCARSAT\b|\bMSA\b|CAISSE (PRIMAIRE|D'ALLOCATIONS|D'ASSURANCE)|\bPOLE EMPLOI\b|\bFRANCE TRAVAIL\b"),
        "sécurité sociale",
        "autre_pouvoir_adjudicateur",
        False,
    ),
    # territorial authorities before the network words: « Commune de Port-Vendres » is a commune, not a port;
    # their network contracts are caught by the CPV code (classify_buyer)
    (re.compile(r"\bCOMMUNE\b|\bMAIRIE\b|\bVILLE (DE|D')"), "commune", "autre_pouvoir_adjudicateur", True),
    (re.compile(r"\bCONSEIL (DEPARTEMENTAL|GENERAL)\b|\bDEPARTEMENT\b"), "département", "autre_pouvoir_adjudicateur", True),
    (re.compile(r"\bCONSEIL REGIONAL\b|\bREGION\b"), "région", "autre_pouvoir_adjudicateur", True),
    (
        re.compile(
            r"\bEAUX?\b|ASSAINISSEMENT|\bENERGIES?\b|ELECTRICITE|\bGAZ\b|\bTRANSPORTS?\b|\bAEROPORT|\bPORT\b|\bSNCF\b|\bRATP\b|\bTRAMWAY|\bMETRO\b|MOBILITES?\b"
        ),
        "réseau (entité adjudicatrice possible)",
        None,
        None,
    ),
    (
        re.compile(r"\bCENTRE HOSPITALIER|\bCHU\b|\bCHR\b|\bHOPITA|\bEHPAD\b|\bGHT\b|\bAP-?HP\b|HOSPICES?\b"),
        "établissement de santé",
        "autre_pouvoir_adjudicateur",
        None,
    ),
    (re.compile(r"\bLYCEE\b|\bCOLLEGE\b"), "établissement d'enseignement (EPLE)", "autre_pouvoir_adjudicateur", True),
    (re.compile(r"\bUNIVERSITE\b|\bECOLE (NATIONALE|NORMALE|CENTRALE|POLYTECHNIQUE)"), "université ou école nationale", None, True),
    (re.compile(r"\bSDIS\b|SERVICE DEPARTEMENTAL D'INCENDIE"), "SDIS", "autre_pouvoir_adjudicateur", True),
    (re.compile(r"\bC[CI]AS\b|CENTRE (INTER)?COMMUNAL D'ACTION SOCIALE"), "CCAS / CIAS", "autre_pouvoir_adjudicateur", True),
    (re.compile(r"\bOPH\b|OFFICE PUBLIC (DE L'|D')HABITAT|OFFICE PUBLIC D'HLM"), "office public de l'habitat", "autre_pouvoir_adjudicateur", True),
    (
        re.compile(
            r"\bCOMMUNAUTE (DE COMMUNES|D'AGGLOMERATION|URBAINE)|\bMETROPOLE\b|\bAGGLOMERATION\b|\bAGGLO\b|\bCTE CNES\b|\bETABLISSEMENT PUBLIC TERRITORIAL\b"
        ),
        "EPCI",
        "autre_pouvoir_adjudicateur",
        True,
    ),
    (re.compile(r"\bSYNDICAT\b|\bSIVOM\b|\bSIVU\b|\bSMICTOM\b|\bSICTOM\b|\bSMIRTOM\b|\bPETR\b"), "syndicat", "autre_pouvoir_adjudicateur", True),
]

# SIREN prefixes of the public sector (INSEE numbering practice, not a legal rule: "à confirmer"; checked
# against the buyers' names in ../shared/data/decp, docs/audit-rules.md). 20 is a range of recent numbers,
# not a kind: communes nouvelles, EPCI and the regions merged in 2016 are numbered 200…
_SIREN_RULES: list[tuple[str, str, str | None, bool | None]] = [
    ("21", "commune", "autre_pouvoir_adjudicateur", True),
    ("22", "département", "autre_pouvoir_adjudicateur", True),
    ("23", "région", "autre_pouvoir_adjudicateur", True),
    ("24", "EPCI", "autre_pouvoir_adjudicateur", True),
    ("25", "syndicat", "autre_pouvoir_adjudicateur", True),
    ("26", "établissement public local (dont santé)", "autre_pouvoir_adjudicateur", None),
    ("20", "collectivité ou établissement public local", "autre_pouvoir_adjudicateur", True),
    ("27", "établissement public local", "autre_pouvoir_adjudicateur", True),
    ("28", "établissement public local", "autre_pouvoir_adjudicateur", True),
    ("11", "État (services)", "autorité_centrale", True),
    ("1", "organisme public national", None, None),
]

# CPV divisions of network activities (entités adjudicatrices): water, energy, transport, post.
_NETWORK_CPV = ("65", "6010", "6011", "6012", "6021", "6022", "0931", "0932", "6411", "6412")


@frozen
class Buyer:
    category: str | None  # rulebook member of catégorie_acheteur, or None (not classified)
    public_body: bool | None  # fact acheteur_état_ou_collectivité
    kind: str  # for the report: commune, département, EPCI, …, "non classé"
    basis: str


def classify_buyer(buyer_id: str, name: str, cpv: str | None = None, defence: bool = False) -> Buyer:
    """Buyer category from its name, then its SIREN; network activities and defence set apart."""
    siren = buyer_id[:9] if len(buyer_id) >= 9 and buyer_id[:9].isdigit() else ""
    n = fold(name)
    found: tuple[str, str | None, bool | None, str] | None = None
    for pat, kind, cat, pub in _NAME_RULES:
        m = pat.search(n) if n else None
        if m:
            found = (kind, cat, pub, f"nom « {name.strip()} » ({m.group(0).strip().lower()})")
            break
    if found is None and siren:
        for prefix, kind, cat, pub in _SIREN_RULES:
            if siren.startswith(prefix):
                found = (kind, cat, pub, f"SIREN {siren} (préfixe {prefix}, usage de l'INSEE à confirmer)")
                break
    if found is None:
        why = f"SIREN {siren}" if siren else f"identifiant « {buyer_id} » sans SIREN"
        return Buyer(None, None, "non classé", f"{why}, nom « {name.strip()} » : catégorie non reconnue")
    kind, cat, pub, basis = found
    if defence:
        return Buyer("défense_sécurité", pub, kind, basis + " ; marché déclaré de défense ou de sécurité")
    if cat is not None and cpv and cpv.startswith(_NETWORK_CPV):
        return Buyer(None, pub, kind, basis + f" ; CPV {cpv} d'une activité de réseau : entité adjudicatrice possible, catégorie laissée inconnue")
    return Buyer(cat, pub, kind, basis)


# ------------------------------------------------------------------ nature and specific services

_WORKS_OBJECT = re.compile(
    r"\bTRAVAUX\b|\bCONSTRUCTION D|\bREHABILITATION\b|\bRENOVATION\b|\bGROS (OE|Œ)UVRE\b|\bVRD\b|\bTERRASSEMENT|\bDEMOLITION\b|\bCHARPENTE\b|\bCOUVERTURE\b|\bMACONNERIE\b|\bREFECTION\b"
)
_SERVICE_OBJECT = re.compile(
    r"MAITRISE D'(OE|Œ)UVRE|\bETUDES?\b|\bMISSION\b|\bCONTROLE\b|\bCOORDINATION\b|\bDIAGNOSTIC|\bASSISTANCE\b|\bAMO\b|\bENTRETIEN\b|\bMAINTENANCE\b|\bNETTOYAGE\b|\bLOCATION\b"
)


def clean_cpv(raw: Any) -> str | None:
    """8 digits (a 7-digit code lost its leading zero), check digit dropped; None if not a CPV code."""
    s = re.sub(r"\s", "", str(raw or ""))
    m = re.match(r"^(\d{7,8})(-\d)?$", s)
    if not m:
        return None
    return m.group(1).zfill(8)


def classify_nature(cpv: str | None, objet: str, ccag: str = "", declared_type: str = "") -> tuple[str | None, str]:
    """Nature (travaux, fournitures, services) from the CPV division, corrected by the CCAG and the object."""
    o, c = fold(objet), fold(ccag)
    if cpv:
        div = int(cpv[:2])
        by_cpv = "travaux" if div == 45 else "fournitures" if div <= 44 or div == 48 else "services"
        basis = f"CPV {cpv} (division {cpv[:2]})"
        if by_cpv != "travaux" and c == "TRAVAUX":
            return "travaux", basis + " corrigé par le CCAG Travaux"
        if by_cpv == "fournitures" and _WORKS_OBJECT.search(o) and not _SERVICE_OBJECT.search(o):
            return "travaux", basis + " corrigé par l'objet (travaux typés fournitures)"
        return by_cpv, basis
    if c == "TRAVAUX" or fold(declared_type) == "TRAVAUX":
        return "travaux", "CCAG ou type déclaré Travaux (CPV absent)"
    if _WORKS_OBJECT.search(o) and not _SERVICE_OBJECT.search(o):
        return "travaux", "objet (CPV absent)"
    return None, "CPV absent ou illisible, objet non concluant"


# Social and other specific services (avis annexé au code ; directive 2014/24, annexe XIV): CPV prefixes.
# An approximation of the list (some codes inside these groups are excluded by the annex): à confirmer.
SSS_PREFIXES = (
    "85",
    "80",
    "92",
    "55",
    "641",
    "98",
    "7511",
    "7512",
    "7513",
    "752",
    "753",
    "791",
    "797",
    "7995",
    "7961",
    "7962",
    "50116510",
    "71550000",
)


def is_sss(cpv: str | None, nature: str | None) -> tuple[bool | None, str]:
    if nature != "services":
        return False, "pas des services"
    if not cpv:
        return None, "CPV absent : services sociaux et spécifiques non déterminables"
    for p in SSS_PREFIXES:
        if cpv.startswith(p):
            return True, f"CPV {cpv} dans la liste des services sociaux et autres services spécifiques (groupe {p}, liste approchée à confirmer)"
    return False, f"CPV {cpv} hors de la liste des services sociaux et autres services spécifiques"


# ------------------------------------------------------------------ lots

_LOT = re.compile(r"[\s:\-–—,(]*\bLOTS?\b\s*(N\s*[°O]?\s*|NO\.?\s*|N°\s*|#)?\s*(\d+|[A-Z]\b|UNIQUE)", re.IGNORECASE)


def lot_of(objet: str) -> tuple[str, str] | None:
    """(object of the whole operation, lot number) when the object names a lot; None otherwise."""
    o = fold(objet)
    m = _LOT.search(o)
    if not m:
        return None
    if m.group(2) == "UNIQUE":
        return None
    base = re.sub(r"[\s:\-–—,(]+$", "", o[: m.start()])
    return (base or o), m.group(2)


# ------------------------------------------------------------------ the contract


@mutable
class Contract:
    """One record mapped: identity, what the data say, what the rulebook needs, and the problems met."""

    rid: str  # record id shown in the report: the contract id and where it is
    file: str
    loc: str
    form: str
    kind: str  # marché | concession | subséquent | partenariat
    contract_id: str
    buyer_id: str
    buyer_name: str
    buyer: Buyer
    nature: str | None
    nature_basis: str
    cpv: str | None
    sss: bool | None
    sss_basis: str
    amount: Decimal | None
    amount_issue: str | None
    date: dt.date | None
    date_issue: str | None
    published: dt.date | None
    procedure_label: str
    procedure: str | None
    procedure_issue: str | None
    framework: bool
    innovative: bool | None
    lot: tuple[str, str] | None
    social: tuple[str, ...] | None  # v2 considerations; None when the record does not carry them
    environmental: tuple[str, ...] | None
    modifications: int
    notes: list[str] = field(factory=list)
    dedup_key: tuple[Any, ...] = ()
    group_total: Decimal | None = None  # sum of the linked lots (with this one)
    group_size: int = 1

    @property
    def year(self) -> int | None:
        return self.date.year if self.date else None


def _list_of(x: Any, key: str) -> tuple[str, ...] | None:
    """v2 lists: {"considerationSociale": [...]} (JSON) or "a|b" (flat CSV)."""
    if x is None:
        return None
    if isinstance(x, dict):
        x = x.get(key)
    if isinstance(x, str):
        return tuple(v.strip() for v in x.split("|") if v.strip()) or None
    if isinstance(x, list):
        return tuple(str(v).strip() for v in x if str(v).strip())
    return None


def _fields(raw: Raw) -> dict[str, Any]:
    """The few fields the audit reads, whatever the form of the record."""
    d = raw.data or {}
    if raw.form == "json":
        buyer = d.get("acheteur") if isinstance(d.get("acheteur"), dict) else {}
        auth = d.get("autoriteConcedante") if isinstance(d.get("autoriteConcedante"), dict) else {}
        who = buyer or auth
        mods = d.get("modifications")
        return {
            "type": d.get("_type") or ("Contrat de concession" if auth and not buyer else "Marché"),
            "id": d.get("id"),
            "buyer_id": who.get("id"),
            "buyer_name": who.get("nom"),
            "nature": d.get("nature"),
            "objet": d.get("objet"),
            "cpv": d.get("codeCPV"),
            "procedure": d.get("procedure"),
            "date": d.get("dateNotification") if "dateNotification" in d or not auth else d.get("dateSignature"),
            "published": d.get("datePublicationDonnees"),
            "amount": d.get("montant") if "montant" in d or not auth else d.get("valeurGlobale"),
            "techniques": _list_of(d.get("techniques"), "technique") or (),
            "ccag": d.get("ccag") or "",
            "id_accord_cadre": d.get("idAccordCadre"),
            "innovant": d.get("marcheInnovant"),
            "social": _list_of(d.get("considerationsSociales"), "considerationSociale"),
            "environmental": _list_of(d.get("considerationsEnvironnementales"), "considerationEnvironnementale"),
            "modifications": len(mods) if isinstance(mods, list) else 0,
            "declared_type": "",
        }
    if raw.form == "csv-tabular":
        return {
            "type": "Marché",
            "id": d.get("id"),
            "buyer_id": d.get("acheteur_id"),
            "buyer_name": d.get("acheteur_nom"),
            "nature": "",
            "objet": "",
            "cpv": d.get("codeCPV"),
            "procedure": d.get("procedure"),
            "date": d.get("dateNotification"),
            "published": None,
            "amount": d.get("montant"),
            "techniques": (),
            "ccag": "",
            "id_accord_cadre": None,
            "innovant": None,
            "social": None,
            "environmental": None,
            "modifications": 0,
            "declared_type": d.get("type") or "",
        }
    # flat CSV (and any CSV with the DECP column names)
    concession = fold(d.get("record_type")) == "CONTRAT DE CONCESSION"
    try:
        mods = len(json.loads(d.get("modifications_json") or "[]"))
    except ValueError:
        mods = 0
    inn = fold(d.get("marcheInnovant"))
    return {
        "type": d.get("record_type") or "Marché",
        "id": d.get("id"),
        "buyer_id": d.get("acheteur_id"),
        "buyer_name": d.get("acheteur_nom"),
        "nature": d.get("nature"),
        "objet": d.get("objet"),
        "cpv": d.get("codeCPV"),
        "procedure": d.get("procedure"),
        "date": d.get("dateSignature") if concession else d.get("dateNotification"),
        "published": d.get("datePublicationDonnees"),
        "amount": d.get("valeurGlobale") if concession else d.get("montant"),
        "techniques": _list_of(d.get("techniques"), "") or (),
        "ccag": d.get("ccag") or "",
        "id_accord_cadre": d.get("idAccordCadre") or None,
        "innovant": True if inn == "TRUE" else False if inn == "FALSE" else None,
        "social": _list_of(d.get("considerationsSociales"), "") if d.get("format") == "v2" or d.get("considerationsSociales") else None,
        "environmental": _list_of(d.get("considerationsEnvironnementales"), "")
        if d.get("format") == "v2" or d.get("considerationsEnvironnementales")
        else None,
        "modifications": mods,
        "declared_type": "",
    }


def map_record(raw: Raw, today: dt.date | None = None) -> Contract:
    """Map one readable record (raw.data is not None)."""
    f = _fields(raw)
    notes: list[str] = []
    cid = str(f["id"] if f["id"] is not None else "").strip()
    buyer_id = re.sub(r"\s", "", str(f["buyer_id"] or ""))
    buyer_name = str(f["buyer_name"] or "")
    t = fold(f["type"])
    nature_label = fold(f["nature"])
    proc_label = fold(f["procedure"])
    if "CONCESSION" in t or "CONCESSION" in nature_label or "DELEGATION DE SERVICE" in nature_label or proc_label in CONCESSION_PROCEDURES:
        kind = "concession"
    elif "SUBSEQUENT" in nature_label or f["id_accord_cadre"]:
        kind = "subséquent"
    elif "PARTENARIAT" in nature_label:
        kind = "partenariat"
    else:
        kind = "marché"
    framework = "ACCORD" in nature_label and "CADRE" in nature_label or any(fold(x) == "ACCORD-CADRE" for x in f["techniques"])
    cpv = clean_cpv(f["cpv"])
    if f["cpv"] not in (None, "") and cpv is None:
        notes.append(f"code CPV illisible « {f['cpv']} »")
    objet = str(f["objet"] or "")
    nature, nature_basis = classify_nature(cpv, objet, str(f["ccag"]), str(f["declared_type"]))
    defence = "DEFENSE" in nature_label
    buyer = classify_buyer(buyer_id, buyer_name, cpv, defence)
    sss, sss_basis = is_sss(cpv, nature)
    amount, amount_issue = parse_amount(f["amount"], "valeur globale" if kind == "concession" else "montant")
    date, date_issue, note = parse_date(f["date"], "date de signature" if kind == "concession" else "date de notification", today)
    if note:
        notes.append(note)
    published, _, _ = parse_date(f["published"], "date de publication", today)
    procedure, procedure_issue = map_procedure(f["procedure"]) if kind == "marché" else (None, None)
    where = f"{raw.file}, {raw.loc}"
    rid = f"{buyer_id or '?'}/{cid or '?'} ({where})"
    return Contract(
        rid=rid,
        file=raw.file,
        loc=raw.loc,
        form=raw.form,
        kind=kind,
        contract_id=cid,
        buyer_id=buyer_id,
        buyer_name=buyer_name.strip(),
        buyer=buyer,
        nature=nature,
        nature_basis=nature_basis,
        cpv=cpv,
        sss=sss,
        sss_basis=sss_basis,
        amount=amount,
        amount_issue=amount_issue,
        date=date,
        date_issue=date_issue,
        published=published,
        procedure_label=str(f["procedure"] or ""),
        procedure=procedure,
        procedure_issue=procedure_issue,
        framework=bool(framework),
        innovative=f["innovant"] if isinstance(f["innovant"], bool) else None,
        lot=lot_of(objet),
        social=f["social"],
        environmental=f["environmental"],
        modifications=int(f["modifications"]),
        notes=notes,
        dedup_key=(buyer_id, cid, str(f["date"] or "").strip()[:10], str(amount if amount is not None else f["amount"])),
    )


FORM_RANK = {"json": 0, "csv-flat": 1, "csv": 2, "csv-tabular": 3}


def link(contracts: list[Contract]) -> dict[int, int]:
    """De-duplicate and group lots in place; returns {index of a duplicate: index of the record kept}.

    One contract published several times (republished versions, another source, the flat copy, one row
    per titulaire) has one key (buyer, id, notification date, amount): the richest form is kept (JSON
    before CSV, then the version with the most modifications). Lots are linked when one buyer notifies,
    on one day, records whose objects name a lot of the same operation; each gets the sum of their amounts.
    Everything held in memory: the reference `Linker` (which keeps it on disk) is tested against.
    """
    best: dict[tuple[Any, ...], tuple[int, int, int]] = {}  # key → (form rank, -modifications, index)
    for i, c in enumerate(contracts):
        if c.buyer_id or c.contract_id:
            rank = (FORM_RANK.get(c.form, 9), -c.modifications)
            cur = best.get(c.dedup_key)
            if cur is None or rank < cur[:2]:
                best[c.dedup_key] = (*rank, i)
    dup = {i: best[c.dedup_key][2] for i, c in enumerate(contracts) if (c.buyer_id or c.contract_id) and best[c.dedup_key][2] != i}
    per_group: dict[tuple[Any, ...], dict[str, Decimal | None]] = {}
    counts: dict[tuple[Any, ...], int] = {}
    for i, c in enumerate(contracts):
        if i in dup or c.lot is None or c.date is None or c.kind != "marché":
            continue
        g = (c.buyer_id, c.lot[0], c.date)
        per_lot = per_group.setdefault(g, {})
        counts[g] = counts.get(g, 0) + 1
        # one amount per lot number: a lot published twice (two titulaires, two versions) is counted once, at its largest
        a = per_lot.get(c.lot[1], Decimal(0))
        per_lot[c.lot[1]] = None if a is None or c.amount is None else max(a, c.amount)
    for i, c in enumerate(contracts):
        if i in dup or c.lot is None or c.date is None or c.kind != "marché":
            continue
        g = (c.buyer_id, c.lot[0], c.date)
        amounts = list(per_group[g].values())
        c.group_size = len(amounts)
        c.group_total = sum(amounts, Decimal(0)) if all(a is not None for a in amounts) else None  # type: ignore[arg-type]
        if len(amounts) < counts[g]:
            c.notes.append(TWICE)
    return dup


TWICE = "lots liés : un numéro de lot publié plusieurs fois, compté une fois à son plus fort montant"


def _digest(key: tuple[Any, ...]) -> bytes:
    """A short fixed-size digest of a key: what the linker keeps per record of a national file."""
    return hashlib.blake2b(repr(key).encode("utf-8", "surrogatepass"), digest_size=12).digest()


def _cents(a: Decimal | None) -> int | None:
    """An amount (quantized to the cent by parse_amount) as whole cents: exact sums and maxima in SQL."""
    return None if a is None else int(a * 100)


class Linker:
    """`link` over a stream, in two passes, keeping on disk (spill.Store) what it needs per record.

    Pass 1: `see(position, contract)` for every mapped record; `finish()`; pass 2: `apply(position,
    contract)` on the same records mapped again (fastest in input order): it sets the linked lots'
    size, total and note, and returns (position, rid) of the record kept when this one is a duplicate,
    else None. Per record, a row on disk (a 12-byte digest of its key, its form's rank, its position
    and id; a lot also its group's digest, number and amount in cents); in memory, only sqlite's page
    cache and batches of rows: the memory does not grow with the records. `close()` deletes the store.
    """

    def __init__(self, store: Any = None) -> None:
        from cpc_rules.audit.spill import Store

        self._own = store is None
        self.store = store if store is not None else Store()
        self.store.table("link_recs", "k BLOB, r0 INTEGER, r1 INTEGER, pos INTEGER, rid TEXT")
        self.store.table("link_lots", "pos INTEGER, k BLOB, g BLOB, num TEXT, cents INTEGER")
        self._dups: Any = None
        self._lots: Any = None

    def see(self, pos: int, c: Contract) -> None:
        k = None
        if c.buyer_id or c.contract_id:
            k = _digest(c.dedup_key)
            self.store.add("link_recs", (k, FORM_RANK.get(c.form, 9), -c.modifications, pos, c.rid))
        if c.lot is not None and c.date is not None and c.kind == "marché":
            self.store.add("link_lots", (pos, k, _digest((c.buyer_id, c.lot[0], c.date)), c.lot[1], _cents(c.amount)))

    def finish(self) -> None:
        """Decide, in SQL on disk, which record each duplicate stands for and the size and total of each lot group."""
        from cpc_rules.audit.spill import Ordered

        db = self.store
        db.flush("link_recs")
        db.flush("link_lots")
        # the record kept per key: the best form, then the most modifications, then the first read
        db.execute(
            "CREATE TABLE link_kept AS SELECT k, pos, rid FROM (SELECT k, pos, rid, ROW_NUMBER() OVER (PARTITION BY k ORDER BY r0, r1, pos) AS n FROM link_recs) WHERE n = 1"
        )
        db.execute("CREATE INDEX link_kept_k ON link_kept (k)")
        db.execute(
            "CREATE TABLE link_dups AS SELECT r.pos AS pos, kp.pos AS kept, kp.rid AS rid FROM link_recs r JOIN link_kept kp ON kp.k = r.k WHERE kp.pos != r.pos"
        )
        db.execute("CREATE INDEX link_dups_pos ON link_dups (pos)")
        db.execute("DROP TABLE link_recs")
        # lots that are not duplicates; one amount per lot number (its largest; unknown if one is unknown)
        db.execute("CREATE TABLE link_lots_kept AS SELECT l.pos, l.g, l.num, l.cents FROM link_lots l WHERE NOT EXISTS (SELECT 1 FROM link_dups d WHERE d.pos = l.pos)")
        db.execute("DROP TABLE link_lots")
        db.execute(
            "CREATE TABLE link_groups AS SELECT g, COUNT(*) AS size, CASE WHEN COUNT(*) = COUNT(cents) THEN SUM(cents) END AS cents, SUM(n) > COUNT(*) AS twice "
            "FROM (SELECT g, num, CASE WHEN COUNT(*) = COUNT(cents) THEN MAX(cents) END AS cents, COUNT(*) AS n FROM link_lots_kept GROUP BY g, num) GROUP BY g"
        )
        db.execute("CREATE INDEX link_groups_g ON link_groups (g)")
        db.execute(
            "CREATE TABLE link_lot_info AS SELECT l.pos AS pos, gr.size AS size, gr.cents AS cents, gr.twice AS twice FROM link_lots_kept l JOIN link_groups gr ON gr.g = l.g"
        )
        db.execute("CREATE INDEX link_lot_info_pos ON link_lot_info (pos)")
        self._dups = Ordered(db, "SELECT pos, kept, rid FROM link_dups WHERE pos >= ? ORDER BY pos")
        self._lots = Ordered(db, "SELECT pos, size, cents, twice FROM link_lot_info WHERE pos >= ? ORDER BY pos")

    def apply(self, pos: int, c: Contract) -> tuple[int, str] | None:
        if c.buyer_id or c.contract_id:
            d = self._dups.get(pos)
            if d is not None:
                return d[1], d[2]
        if c.lot is not None and c.date is not None and c.kind == "marché":
            info = self._lots.get(pos)
            if info is not None:
                c.group_size = info[1]
                c.group_total = None if info[2] is None else Decimal(info[2]).scaleb(-2)
                if info[3]:
                    c.notes.append(TWICE)
        return None

    def close(self) -> None:
        for o in (self._dups, self._lots):
            if o is not None:
                o.close()
        if self._own:
            self.store.close()
