"""The audit's outputs: JSON Lines of verdicts, a summary (JSON and a text table), a self-contained HTML report.

The HTML opens offline: no script, no external style or font, charts drawn as inline SVG here.
"""

from __future__ import annotations

import heapq
import html
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from cpc_rules.audit.spill import Rows
from cpc_rules.audit.verdicts import VERDICTS

FLAGS = ("non_autorise", "a_justifier")
FLAGGED_SHOWN = 300  # flagged records shown in the HTML report (all of them are in verdicts.jsonl)


def _json_default(o: Any) -> Any:
    if isinstance(o, Rows):
        return list(o)  # dumps of a whole summary (dump_json writes the rows one at a time)
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def dumps(o: Any, indent: int | None = None) -> str:
    return json.dumps(o, ensure_ascii=False, default=_json_default, indent=indent)


def write_json(o: Any, path: Path) -> None:
    """`dumps(o, indent=2)` and a newline, into a file (see dump_json)."""
    with open(path, "w", encoding="utf-8") as f:
        dump_json(o, f)


def dump_json(o: Any, f: Any) -> None:
    """`dumps(o, indent=2)` and a newline, written to the text stream `f` a piece at a time, the same text:
    the summary's long lists are spill.Rows on disk, written here a row at a time, never held whole
    (nor is the whole text: joined at once it took 70 MB for the summary of 60 000 records,
    bench/README.md, "Audit")."""
    _dump(o, f, "")
    f.write("\n")


def _dump(o: Any, f: Any, indent: str) -> None:
    """One value at `indent`, as json.dump(…, indent=2) writes it."""
    if isinstance(o, dict):
        if not o:
            f.write("{}")
            return
        inner = indent + "  "
        sep = "{\n"
        for k, v in o.items():
            f.write(f"{sep}{inner}{_key(k)}: ")
            _dump(v, f, inner)
            sep = ",\n"
        f.write(f"\n{indent}}}")
    elif isinstance(o, (list, tuple, Rows)):
        inner = indent + "  "
        sep = "[\n"
        for v in o:
            f.write(sep + inner)
            _dump(v, f, inner)
            sep = ",\n"
        f.write("[]" if sep == "[\n" else f"\n{indent}]")
    else:  # a scalar, or what _json_default makes of another object (a set: a list), as json writes it
        text = json.dumps(o, ensure_ascii=False, default=_json_default, indent=2)
        f.write(text.replace("\n", "\n" + indent) if indent and "\n" in text else text)


def _key(k: Any) -> str:
    """A dict key as json writes it (keys that are not text become text; json refuses other kinds)."""
    if not isinstance(k, str):
        if k is True or k is False or k is None or isinstance(k, (int, float)):
            k = json.dumps(k)
        else:
            raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")
    return json.dumps(k, ensure_ascii=False)


def problem_kind(p: str) -> str:
    """A data problem without its value, to count alike problems together."""
    return re.sub(r"«[^»]*»", "«…»", p)


class Tally:
    """Counts as verdicts stream by, so nothing needs to be kept but the flagged records (for the report)."""

    def __init__(self) -> None:
        self.total = 0
        self.verdicts: Counter[str] = Counter()
        self.by_file: dict[str, Counter[str]] = {}
        self.by_year: dict[str, Counter[str]] = {}
        self.by_buyer_type: dict[str, Counter[str]] = {}
        self.flag_reasons: Counter[tuple[str, str]] = Counter()
        self.undetermined_reasons: Counter[str] = Counter()
        self.out_of_coverage: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        self.nature_basis: Counter[str] = Counter()
        self.buyer_classified: Counter[str] = Counter()
        self.publicity_skipped = 0
        self.flagged: list[dict[str, Any]] = []  # the first FLAGGED_SHOWN, for the HTML table
        self.flagged_count = 0
        self.flags_by_buyer: Counter[tuple[str, str]] = Counter()

    def add(self, v: dict[str, Any]) -> None:
        code = v["verdict"]
        self.total += 1
        self.verdicts[code] += 1
        self.by_file.setdefault(v.get("fichier", "?"), Counter())[code] += 1
        if code == "doublon":
            return  # its problems are counted once, on the record kept
        for p in v.get("problèmes", ()):
            self.problems[problem_kind(p)] += 1
        if code == "illisible":
            return
        year = str(v.get("année") or "inconnue")
        self.by_year.setdefault(year, Counter())[code] += 1
        buyer = v.get("acheteur") or {}
        self.by_buyer_type.setdefault(buyer.get("type", "?"), Counter())[code] += 1
        self.buyer_classified["classé" if buyer.get("catégorie") else "non classé"] += 1
        nb = str(v.get("nature_fondement", ""))
        self.nature_basis[
            "corrigée par le CCAG" if "CCAG" in nb else "corrigée par l'objet" if "objet" in nb else "CPV" if nb.startswith("CPV") else "non déterminée"
        ] += 1
        if code in FLAGS:
            self.flag_reasons[(code, v["motif"])] += 1
            self.flags_by_buyer[(buyer.get("id", ""), buyer.get("nom", ""))] += 1
            self.flagged_count += 1
            if len(self.flagged) < FLAGGED_SHOWN:
                self.flagged.append(v)
            due = v.get("dû") or {}
            if v.get("déclaré", {}).get(
                "procédure_encodée"
            ) == "sans_publicité_ni_mise_en_concurrence" and "sans_publicité_ni_mise_en_concurrence" not in due.get("procédures_autorisées", []) + due.get(
                "procédures_indéterminées", []
            ):
                self.publicity_skipped += 1
        elif code == "indetermine":
            self.undetermined_reasons[problem_kind(re.sub(r"\d{4}-\d{2}-\d{2}", "AAAA-MM-JJ", v["motif"]))] += 1
        elif code == "hors_couverture":
            self.out_of_coverage[re.sub(r"\d{4}-\d{2}-\d{2}", "AAAA-MM-JJ", v["motif"])] += 1


def summary(tally: Tally, files: list[dict[str, Any]], skipped: list[dict[str, str]], extra: dict[str, Any]) -> dict[str, Any]:
    decided = sum(n for code, n in tally.verdicts.items() if code not in ("doublon", "illisible"))
    unclassified = tally.buyer_classified["non classé"]
    return {
        "format_audit": 1,
        "enregistrements": tally.total,
        "verdicts": {code: tally.verdicts.get(code, 0) for code in VERDICTS},
        "libellés": VERDICTS,
        "fichiers": files,
        "fichiers_ignorés": skipped,
        "verdicts_par_fichier": {f: dict(c) for f, c in tally.by_file.items()},
        "verdicts_par_année": {y: dict(c) for y, c in sorted(tally.by_year.items())},
        "verdicts_par_type_acheteur": {t: dict(c) for t, c in sorted(tally.by_buyer_type.items(), key=lambda kv: -sum(kv[1].values()))},
        "signalements_par_motif": [{"verdict": code, "motif": m, "nombre": n} for (code, m), n in tally.flag_reasons.most_common()],
        "signalements_par_acheteur": [{"acheteur": b, "nom": n, "nombre": k} for (b, n), k in tally.flags_by_buyer.most_common(20)],
        "indéterminés_par_motif": [{"motif": m, "nombre": n} for m, n in tally.undetermined_reasons.most_common(20)],
        "hors_couverture_par_motif": [{"motif": m, "nombre": n} for m, n in tally.out_of_coverage.most_common(20)],
        "publicité_omise": {
            "nombre": tally.publicity_skipped,
            "motif": "marché passé sans publicité alors que la valeur et la date ne l'autorisaient pas (sous les présomptions listées)",
        },
        "correspondance": {
            "acheteurs_classés": tally.buyer_classified["classé"],
            "acheteurs_non_classés": unclassified,
            "part_non_classée": round(unclassified * 100 / decided, 1) if decided else None,
            "nature_par_fondement": dict(tally.nature_basis),
        },
        "qualité_des_données": [{"problème": p, "nombre": n} for p, n in tally.problems.most_common()],
        **extra,
    }


# ------------------------------------------------------------------ text


def _n(x: float) -> str:
    return f"{x:,}".replace(",", " ")


def _pct(n: int, d: int) -> str:
    return f"{n * 100 / d:5.1f}".replace(".", ",") if d else "  —"


def text_summary(s: dict[str, Any]) -> str:
    total = s["enregistrements"]
    lines = [f"Audit des données essentielles — {_n(total)} enregistrements lus dans {len(s['fichiers'])} fichier(s)"]
    if s["fichiers_ignorés"]:
        lines.append(
            f"({len(s['fichiers_ignorés'])} fichier(s) ignoré(s) : "
            + ", ".join(Path(f["fichier"]).name + " — " + f["motif"] for f in s["fichiers_ignorés"])
            + ")"
        )
    lines += ["", f"{'verdict':<38} {'nombre':>8} {'%':>6}", "-" * 54]
    for code, label in VERDICTS.items():
        n = s["verdicts"][code]
        lines.append(f"{label:<38} {_n(n):>8} {_pct(n, total):>6}")
    lines += ["-" * 54, f"{'total':<38} {_n(sum(s['verdicts'].values())):>8} {_pct(sum(s['verdicts'].values()), total):>6}", ""]
    flags = s["signalements_par_motif"]
    if flags:
        lines.append("Signalements (à justifier, non autorisé), par motif :")
        for f in flags[:12]:
            lines.append(f"  {_n(f['nombre']):>6}  {VERDICTS[f['verdict']]} — {f['motif']}")
        lines.append("")
    m = s["correspondance"]
    lines.append(
        f"Acheteurs : catégorie reconnue pour {_n(m['acheteurs_classés'])} enregistrements, non classée pour {_n(m['acheteurs_non_classés'])} ({str(m['part_non_classée']).replace('.', ',')} %)"
    )
    lines.append("Nature : " + ", ".join(f"{k} {_n(v)}" for k, v in sorted(m["nature_par_fondement"].items())))
    if s.get("publicité_omise", {}).get("nombre"):
        lines.append(f"Publicité omise (sans publicité alors qu'elle était due) : {_n(s['publicité_omise']['nombre'])}")
    pat = s.get("motifs", {})
    if pat:
        leads = [r for r in pat.get("concentration_sous_les_seuils", {}).get("seuils", []) if r["piste"]]
        lines.append(
            f"Pistes : {len(leads)} seuil(s) avec des montants concentrés juste en dessous ; {len(pat.get('fractionnement', []))} fractionnement(s) possible(s) (R2121-4)"
        )
    rp = s.get("achats_responsables", {})
    if rp:
        years = rp.get("indicateurs", {}).get("par_année", [])
        for y in years:
            lines.append(
                f"Achats responsables {y['année']} : {_n(y['marchés'])} marchés déclarant leurs considérations ; sociale {str(y['social']['part_en_nombre']).replace('.', ',')} % (en valeur {str(y['social']['part_en_valeur']).replace('.', ',')} %), "
                f"environnementale {str(y['environnemental']['part_en_nombre']).replace('.', ',')} % (en valeur {str(y['environnemental']['part_en_valeur']).replace('.', ',')} %), réservés {str(y['réservé']['part_en_nombre']).replace('.', ',')} %"
            )
        lines.append(
            f"SPASER obligatoire (estimation) : {len(rp.get('spaser', []))} acheteur(s) et année(s) ; loi Climat : {rp.get('loi_climat_nombre', len(rp.get('loi_climat', [])))} piste(s)"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ HTML and SVG

PALETTE = {
    "conforme": "#2e7d32",
    "a_justifier": "#ef6c00",
    "non_autorise": "#c62828",
    "indetermine": "#757575",
    "hors_couverture": "#90a4ae",
    "illisible": "#6a1b9a",
    "doublon": "#cfd8dc",
}


def svg_bars(rows: list[tuple[str, int]], title: str, color: str = "#1565c0", width: int = 720) -> str:
    """A horizontal bar chart as inline SVG."""
    if not rows:
        return f"<p><em>{html.escape(title)} : rien à montrer.</em></p>"
    bar, gap, label_w = 18, 6, 300
    h = 30 + len(rows) * (bar + gap)
    top = max(n for _, n in rows) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, n) in enumerate(rows):
        y = 26 + i * (bar + gap)
        w = int((width - label_w - 70) * n / top)
        short = label if len(label) <= 48 else label[:47] + "…"
        out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12"><title>{html.escape(label)}</title>{html.escape(short)}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1)}" height="{bar}" fill="{color}"/>')
        out.append(f'<text x="{label_w + w + 4}" y="{y + 13}" font-size="12">{_n(n)}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_histogram(counts: list[int], low: float, step: float, title: str, width: int = 720, height: int = 200) -> str:
    """Columns of amount / threshold, the threshold (1.0) marked: bunching shows as a step at the line."""
    if not counts or not any(counts):
        return f"<p><em>{html.escape(title)} : rien à montrer.</em></p>"
    top = max(counts)
    n = len(counts)
    plot_w, plot_h, left, base = width - 60, height - 60, 40, height - 30
    col = plot_w / n
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = left + i * col
        r = low + i * step
        fill = "#ef6c00" if r < 1 else "#1565c0"
        out.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{col - 1:.1f}" height="{h:.1f}" fill="{fill}"><title>{r:.2f}–{r + step:.2f} × seuil : {c}</title></rect>'
        )
    xs = left + (1 - low) / step * col
    out.append(f'<line x1="{xs:.1f}" y1="{base - plot_h - 5}" x2="{xs:.1f}" y2="{base}" stroke="#000" stroke-dasharray="4 2"/>')
    out.append(f'<text x="{xs + 3:.1f}" y="{base - plot_h + 5}" font-size="11">seuil</text>')
    for t in (low, 1.0, low + n * step):
        x = left + (t - low) / step * col
        out.append(f'<text x="{x:.1f}" y="{base + 14}" font-size="11" text-anchor="middle">{t:.1f}×</text>')
    out.append(f'<text x="{left}" y="{base + 28}" font-size="11">montant ÷ seuil de la date (orange : en dessous ; bleu : au-dessus) — maximum {top}</text>')
    out.append("</svg>")
    return "".join(out)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _flag_counts(by: dict[str, dict[str, int]]) -> list[tuple[str, int]]:
    rows = [(k, sum(c.get(f, 0) for f in FLAGS)) for k, c in by.items()]
    return [(k, n) for k, n in rows if n]


def html_report(s: dict[str, Any], tally: Tally) -> str:
    e = html.escape
    total = s["enregistrements"]
    parts = [
        "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>Audit des données essentielles</title>",
        (
            "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}th{background:#eee}svg{display:block;margin:1em 0}"
            ".note{color:#555;font-size:13px}</style></head><body>"
        ),
        "<h1>Audit des données essentielles de la commande publique</h1>",
        (
            f"<p>{_n(total)} enregistrements lus dans {len(s['fichiers'])} fichier(s) ; recueil « {e(str(s.get('recueil', {}).get('titre', '')))} » "
            f"(empreinte {e(str(s.get('recueil', {}).get('empreinte', ''))[:12])}). Chaque enregistrement reçoit un verdict ; la somme des verdicts est égale au nombre d'enregistrements lus.</p>"
        ),
        (
            "<p class='note'>Un signalement n'est pas une infraction constatée : « à justifier » signifie que la procédure déclarée n'est permise que par une exception que les données ne publient pas ; "
            "les présomptions utilisées sont listées pour chaque enregistrement dans verdicts.jsonl. Les motifs (concentration sous les seuils, fractionnement) sont des pistes, jamais des verdicts.</p>"
        ),
        "<h2>Verdicts</h2>",
        _table(
            ["verdict", "nombre", "%"],
            [[VERDICTS[c], _n(n), _pct(n, total).strip()] for c, n in s["verdicts"].items()] + [["total", _n(sum(s["verdicts"].values())), "100"]],
        ),
        svg_bars([(VERDICTS[c], n) for c, n in s["verdicts"].items() if n], "Verdicts", "#455a64"),
        "<h2>Signalements</h2>",
        svg_bars([(f"{VERDICTS[f['verdict']]} — {f['motif']}", f["nombre"]) for f in s["signalements_par_motif"][:12]], "Signalements par motif", "#ef6c00"),
        svg_bars(sorted(_flag_counts(s["verdicts_par_année"]), key=lambda r: r[0]), "Signalements par année de notification", "#c62828"),
        svg_bars(sorted(_flag_counts(s["verdicts_par_type_acheteur"]), key=lambda r: -r[1]), "Signalements par type d'acheteur", "#6a1b9a"),
    ]
    top = s.get("signalements_par_acheteur", [])
    if top:
        parts.append("<h3>Acheteurs les plus signalés (20 premiers)</h3>")
        parts.append(_table(["acheteur", "nom", "signalements"], [[r["acheteur"], r["nom"], r["nombre"]] for r in top]))
    flagged = tally.flagged
    if flagged:
        parts.append(f"<h3>Enregistrements signalés ({_n(tally.flagged_count)}, {_n(len(flagged))} premiers montrés)</h3>")
        rows = []
        for v in flagged:
            due = v.get("dû") or {}
            pub = (due.get("publicité_minimale") or {}).get("obligatoire", [])
            rows.append(
                [
                    f"{v['acheteur'].get('id', '')}/{v.get('id', '')} — {Path(v['fichier']).name}, {v['position']}",
                    v.get("date_notification") or "",
                    v.get("montant") or "",
                    v.get("nature") or "",
                    v["acheteur"].get("type", ""),
                    v["déclaré"]["procédure"],
                    VERDICTS[v["verdict"]],
                    v.get("à_justifier", "") or v["motif"],
                    ", ".join(due.get("procédures_autorisées", [])),
                    ", ".join(pub),
                ]
            )
        parts.append(
            _table(
                [
                    "enregistrement",
                    "notifié",
                    "montant € HT",
                    "nature",
                    "acheteur",
                    "procédure déclarée",
                    "verdict",
                    "ce qui l'aurait justifié (ou motif)",
                    "procédures autorisées",
                    "publicité due au minimum",
                ],
                rows,
            )
        )
    pat = s.get("motifs", {})
    bun = pat.get("concentration_sous_les_seuils", {})
    if bun:
        parts.append("<h2>Montants autour des seuils</h2>")
        hist = bun.get("histogramme", {})
        low, step = float(hist.get("de", 0.5)), float(hist.get("pas", 0.05))
        names = {"dispense": "Seuil de dispense (R2122-8)", "boamp_jal": "Seuil BOAMP/JAL (R2131-12)", "formalisée": "Seuil européen de procédure formalisée"}
        for fam, counts in hist.get("effectifs", {}).items():
            parts.append(svg_histogram(counts, low, step, f"{names.get(fam, fam)} : montants entre {low}× et {low + len(counts) * step:.1f}× le seuil"))
        parts.append(
            _table(
                ["seuil", "juste en dessous", "juste au-dessus", "rapport", "piste", "acheteurs avec au moins 3 marchés juste en dessous"],
                [
                    [
                        r["libellé"],
                        r["juste_en_dessous"],
                        r["juste_au_dessus"],
                        r["ratio"] if r["ratio"] is not None else "—",
                        "oui" if r["piste"] else "",
                        ", ".join(f"{a['acheteur']} ({a['juste_en_dessous']})" for a in r.get("acheteurs_les_plus_concernés", [])),
                    ]
                    for r in bun.get("seuils", [])
                ],
            )
        )
        parts.append(
            f"<p class='note'>« Juste » : {e(bun.get('bande', ''))}. Une piste demande au moins 10 marchés juste en dessous et deux fois plus qu'au-dessus.</p>"
        )
    split = pat.get("fractionnement", [])
    parts.append(f"<h2>Fractionnement possible (R2121-4) : {len(split)} piste(s)</h2>")
    if split:
        parts.append(
            _table(
                ["acheteur", "nom", "année", "groupe CPV", "marchés", "total € HT", "seuil"],
                [[r["acheteur"], r["nom"], r["année"], r["groupe_cpv"], r["marchés"], r["total"], r["seuil"]] for r in split[:100]],
            )
        )
    rp = s.get("achats_responsables", {})
    if rp:
        parts.append("<h2>Achats responsables (indicateurs du SPASER, L2111-3)</h2>")
        years = rp.get("indicateurs", {}).get("par_année", [])
        for y in years:
            parts.append(
                svg_bars(
                    [
                        ("considération sociale", y["social"]["nombre"]),
                        ("considération environnementale", y["environnemental"]["nombre"]),
                        ("marché réservé", y["réservé"]["nombre"]),
                        ("marchés déclarant leurs considérations", y["marchés"]),
                    ],
                    f"{y['année']} : marchés avec une considération (en nombre)",
                    "#2e7d32",
                )
            )
        parts.append(
            _table(
                ["année", "marchés", "sociale (nombre)", "sociale (valeur)", "environnementale (nombre)", "environnementale (valeur)", "réservés (nombre)"],
                [
                    [
                        y["année"],
                        y["marchés"],
                        f"{y['social']['part_en_nombre']} %",
                        f"{y['social']['part_en_valeur']} %",
                        f"{y['environnemental']['part_en_nombre']} %",
                        f"{y['environnemental']['part_en_valeur']} %",
                        f"{y['réservé']['part_en_nombre']} %",
                    ]
                    for y in years
                ],
            )
        )
        for t in rp.get("objectifs_nationaux", []):
            parts.append(f"<p class='note'>Pour information ({e(t['article'])}, {e(t['nature'])}) : {e(t['texte'])}</p>")
        per = rp.get("indicateurs", {}).get("par_acheteur_et_année", [])
        parts.append("<h3>Par acheteur et année (50 plus grands nombres de marchés)</h3>")
        per_sorted = heapq.nsmallest(50, per, key=lambda r: -r["marchés"])  # sorted(…)[:50], without holding every row
        parts.append(
            _table(
                ["acheteur", "nom", "année", "marchés", "sociale %", "environnementale %", "réservés %", "sociale % valeur", "environnementale % valeur"],
                [
                    [
                        r["acheteur"],
                        r["nom"],
                        r["année"],
                        r["marchés"],
                        r["social"]["part_en_nombre"],
                        r["environnemental"]["part_en_nombre"],
                        r["réservé"]["part_en_nombre"],
                        r["social"]["part_en_valeur"],
                        r["environnemental"]["part_en_valeur"],
                    ]
                    for r in per_sorted
                ],
            )
        )
        sp = rp.get("spaser", [])
        parts.append(f"<h3>SPASER obligatoire (estimation) : {len(sp)}</h3>")
        if sp:
            parts.append(
                _table(
                    ["acheteur", "nom", "année", "montant notifié € HT", "SPASER", "fondement"],
                    [[r["acheteur"], r["nom"], r["année"], r["montant_des_marchés_notifiés"], r["spaser"], ", ".join(r["fondement"])] for r in sp],
                )
            )
        cl = rp.get("loi_climat", [])
        parts.append(
            f"<h3>Loi Climat : considération environnementale obligatoire non déclarée — {_n(rp.get('loi_climat_nombre', len(cl)))} piste(s)"
            + (f", toutes dans {e(rp['loi_climat_fichier'])}" if rp.get("loi_climat_fichier") else "")
            + "</h3>"
        )
        if cl:
            parts.append(
                _table(
                    ["enregistrement", "notifié", "montant", "fondement", "à confirmer"],
                    [
                        [r["enregistrement"], r["date_notification"], r["montant"] or "", ", ".join(r["fondement"]), " ; ".join(r["à_confirmer"])]
                        for r in cl[:200]
                    ],
                )
            )
    m = s["correspondance"]
    parts.append("<h2>Correspondance et qualité des données</h2>")
    parts.append(
        f"<p>Catégorie d'acheteur reconnue : {_n(m['acheteurs_classés'])} ; non classée : {_n(m['acheteurs_non_classés'])} ({m['part_non_classée']} %).</p>"
    )
    parts.append(_table(["nature lue par", "enregistrements"], [[k, _n(v)] for k, v in sorted(m["nature_par_fondement"].items())]))
    parts.append(_table(["problème dans les données", "enregistrements"], [[q["problème"], _n(q["nombre"])] for q in s["qualité_des_données"][:30]]))
    parts.append(_table(["indéterminé : motif", "nombre"], [[q["motif"], _n(q["nombre"])] for q in s["indéterminés_par_motif"]]))
    parts.append(_table(["hors couverture : motif", "nombre"], [[q["motif"], _n(q["nombre"])] for q in s["hors_couverture_par_motif"]]))
    parts.append(
        _table(["fichier", "enregistrements", "forme"], [[Path(f["fichier"]).name, _n(f["enregistrements"]), ", ".join(f["formes"])] for f in s["fichiers"]])
    )
    parts.append("</body></html>")
    return "\n".join(parts)
