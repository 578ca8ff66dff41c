// The buyer's page: a form generated from the situation's JSON Schema (/schema), driven by
// /questions (only the questions that can change the answer are shown), answered by /decide.
// No framework, no external resource: it works on a machine without internet.
"use strict";

const SHOWN = 3; // unanswered questions shown at once, the most decisive first
const state = { schema: null, facts: {}, answers: {}, skipped: new Set(), asked: {}, checklistFacts: new Set(), decision: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

async function api(path, body, params = {}) {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(path + (query ? "?" + query : ""), {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) {
    const errors = (data.errors || []).map((e) => e.message + (e.hint ? " (" + e.hint + ")" : ""));
    throw new Error(errors.join(" ; ") || "erreur " + response.status);
  }
  return data;
}

function situation() {
  const faits = {};
  for (const [name, value] of Object.entries(state.answers)) {
    if (value !== "" && value !== null && value !== undefined) faits[name] = value;
  }
  return { date: document.getElementById("f-date").value, faits };
}

function factSchema(name) {
  return (state.facts[name] || {});
}

// One field per question: choices for an enumeration or a yes/no, a text box for amounts
// (written as a buyer writes them: "1 850 000", "39 999,99 €"), a date picker for dates.
function field(q) {
  const name = q.fact;
  const schema = factSchema(name);
  const id = "f-" + name;
  const label = q.label || schema.title || name;
  const box = el("div", { class: "field", "data-fact": name });
  const helpId = id + "-help";
  const kind = q.kind || (schema.type === "boolean" ? "bool" : schema.enum ? "enum" : "amount");
  const current = state.answers[name];
  if (kind === "bool" || kind === "enum") {
    const fs = el("fieldset", { "aria-describedby": helpId });
    fs.append(el("legend", { text: label }));
    let options = (q.choices || []).map((c) => ({ value: c.value, label: c.label }));
    if (!options.length) options = kind === "bool" ? [{ value: true, label: "Oui" }, { value: false, label: "Non" }] : (schema.enum || []).map((v) => ({ value: v, label: v }));
    options.push({ value: "", label: "Je ne sais pas" });
    options.forEach((opt, i) => {
      const input = el("input", { type: "radio", name: id, id: id + "-" + i, value: String(opt.value) });
      if (opt.value === "" ? state.skipped.has(name) : String(current ?? "") === String(opt.value)) input.checked = true;
      input.addEventListener("change", () => (opt.value === "" ? skip(name) : answer(name, opt.value)));
      fs.append(el("label", { class: "choice", for: id + "-" + i }, input, " " + opt.label));
    });
    box.append(fs);
  } else {
    box.append(el("label", { for: id, text: label }));
    const input = el("input", { type: kind === "date" ? "date" : "text", id, name, inputmode: kind === "date" || kind === "list" ? null : "decimal", "aria-describedby": helpId, autocomplete: "off" });
    if (current !== undefined) input.value = typeof current === "string" ? current : JSON.stringify(current);
    input.addEventListener("change", () => {
      const raw = input.value.trim();
      if (kind === "list" && raw.startsWith("[")) {
        try { answer(name, JSON.parse(raw)); } catch (e) { answer(name, raw); }
      } else answer(name, raw);
    });
    box.append(input);
    // its name says which question it answers (a screen reader lists buttons out of context); it starts with
    // the visible words, so a voice command « Je ne sais pas » still finds it
    const unknown = el("button", { type: "button", class: "unknown", text: "Je ne sais pas", "aria-label": "Je ne sais pas : " + label });
    unknown.addEventListener("click", () => skip(name));
    box.append(" ", unknown);
  }
  // what may be typed is said for a text box only: the terminal's « le numéro d'un choix » means nothing beside buttons
  const typed = kind !== "bool" && kind !== "enum";
  box.append(el("p", { class: "help", id: helpId, text: [q.help, typed && q.accepted ? "Réponse : " + q.accepted + "." : ""].filter(Boolean).join(" ") }));
  return box;
}

function answer(name, value) {
  state.skipped.delete(name);
  if (value === "") delete state.answers[name];
  else state.answers[name] = value;
  refresh();
}

// "Je ne sais pas": the fact stays unknown and is not asked again.
function skip(name) {
  delete state.answers[name];
  state.skipped.add(name);
  refresh();
}

let refreshing = null;
async function refresh() {
  const status = document.getElementById("form-status");
  const date = document.getElementById("f-date").value;
  if (!date) return;
  const seq = (refreshing = Symbol());
  document.body.dataset.busy = "1"; // for assistive technology and tests: the questions are being updated
  try {
    const data = await api("/questions", situation(), state.skipped.size ? { skip: [...state.skipped].join(",") } : {});
    if (seq !== refreshing) return;
    delete document.body.dataset.busy;
    render(data.questions || []);
    status.textContent = (data.questions || []).length ? "" : "Toutes les questions utiles ont une réponse.";
    status.className = "";
  } catch (e) {
    delete document.body.dataset.busy;
    status.textContent = "Erreur : " + e.message;
    status.className = "error";
  }
}

function render(questions) {
  const asked = questions.filter((q) => q.kind !== "checklist");
  const checklist = questions.find((q) => q.kind === "checklist");
  const rare = new Set(checklist ? checklist.facts : []);
  // Answered facts stay on the page so that an answer can be changed.
  const known = [...Object.keys(state.answers), ...state.skipped].filter((n) => !rare.has(n) && !state.checklistFacts.has(n));
  const names = [...known, ...asked.filter((q) => !known.includes(q.fact)).slice(0, SHOWN).map((q) => q.fact)];
  const container = document.getElementById("questions");
  const focused = document.activeElement && document.activeElement.id;
  container.replaceChildren();
  for (const name of new Set(names)) {
    container.append(field(asked.find((x) => x.fact === name) || state.asked[name] || { fact: name }));
  }
  for (const q of asked) state.asked[q.fact] = q;
  const fs = document.getElementById("checklist");
  const items = document.getElementById("checklist-items");
  items.replaceChildren();
  fs.hidden = !checklist;
  if (checklist) {
    fs.querySelector("legend").textContent = checklist.label;
    items.append(el("p", { class: "help", text: checklist.help }));
    checklist.choices.forEach((c) => {
      const id = "c-" + c.value;
      const box = el("input", { type: "checkbox", id, name: c.value });
      items.append(el("label", { class: "choice", for: id }, box, " " + c.label));
    });
    const done = el("button", { type: "button", id: "checklist-done", text: "Valider cette liste" });
    done.addEventListener("click", () => {
      for (const fact of checklist.facts) {
        state.answers[fact] = document.getElementById("c-" + fact).checked;
        state.checklistFacts.add(fact);
      }
      refresh();
    });
    items.append(done);
  }
  if (focused) {
    const again = document.getElementById(focused);
    if (again) again.focus();
  }
}

// The verdict is the text `cpc-rules decide` prints, line for line (`verdict` in the decision, asked with
// ?verdict=true): the page groups and words nothing itself, so it says what the CLI says. Lists open at a
// heading (the procedures, what applies); a wrapped line and the publicity after « → » stay with their item.
const ITEMS = new Set(["allowed", "undetermined", "closed", "forbidden", "mandatory", "not_mandatory", "some"]);
const MARKS = { allowed: "allowed", undetermined: "undetermined", closed: "refused", forbidden: "refused", mandatory: "allowed", unencoded: "undetermined" };

function verdictLine(tag, line) {
  const node = el(tag, { class: "verdict-line kind-" + line.kind, "data-kind": line.kind });
  const mark = MARKS[line.kind];
  const first = line.text.split(" ")[0];
  if (mark && first.length <= 2) {
    node.append(el("span", { class: mark, text: first }), line.text.slice(first.length));
  } else node.append(line.text);
  return node;
}

function verdictLines(d) {
  const out = [];
  const lines = (d.verdict && d.verdict.lines) || [];
  let list = null;
  let section = -1;
  let last = null; // the element a continuation belongs to
  for (const line of lines) {
    if (line.section !== section) { list = null; section = line.section; }
    if (line.kind === "continuation" || line.kind === "publicity") {
      const more = el("div", { class: "verdict-more kind-" + line.kind }, line.text);
      if (last) last.append(more); else out.push(more);
      continue;
    }
    if (line.kind === "title") {
      last = el("p", { class: "verdict-title", text: line.text });
      out.push(last);
    } else if (line.kind === "heading") {
      last = el("h3", { text: line.text });
      list = el("ul");
      out.push(last, list);
    } else if (ITEMS.has(line.kind) && line.level > 0) {
      if (!list) { list = el("ul"); out.push(list); }
      last = verdictLine("li", line);
      list.append(last);
    } else {
      list = null;
      last = verdictLine("p", line);
      out.push(last);
    }
  }
  return out;
}

function showDecision(d) {
  state.decision = d;
  const section = document.getElementById("verdict");
  section.hidden = false;
  document.getElementById("verdict-body").replaceChildren(...verdictLines(d));
  const pres = document.getElementById("presumptions");
  const presumed = d.presumptions || [];
  pres.replaceChildren(
    presumed.length
      ? el("details", {}, el("summary", { text: presumed.length + " présomption(s) au total (valeur, raison, articles) : la réponse vaut sous ces réserves" }),
          el("ul", {}, ...presumed.map((p) => el("li", { text: (p.label || p.fact) + " : " + (p.display || String(p.value)) + " — " + (p.reason || "") + (p.articles && p.articles.length ? " (" + p.articles.join(", ") + ")" : "") }))))
      : el("p", { text: "Aucune." }),
  );
  const grounds = el("ul");
  for (const a of d.articles || []) {
    const text = a.article + (a.title ? " — " + a.title : "");
    const link = a.legiarti ? el("a", { href: "https://www.legifrance.gouv.fr/codes/article_lc/" + a.legiarti, text, rel: "noopener" }) : text;
    grounds.append(el("li", {}, link, a.version_from ? " (version du " + a.version_from + ")" : ""));
  }
  document.getElementById("grounds").replaceChildren(grounds);
  document.getElementById("trace").textContent = JSON.stringify(d.trace || [], null, 1);
  const blob = new Blob([JSON.stringify(d, null, 2)], { type: "application/json" });
  document.getElementById("download-link").href = URL.createObjectURL(blob);
  section.focus();
}

async function decide(event) {
  event.preventDefault();
  const status = document.getElementById("form-status");
  if (!document.getElementById("f-date").value) {
    status.textContent = "Indiquez la date de lancement de la consultation.";
    status.className = "error";
    document.getElementById("f-date").focus();
    return;
  }
  try {
    showDecision(await api("/decide", situation(), { trace: "true", verdict: "true" }));
    status.textContent = "";
  } catch (e) {
    status.textContent = "Erreur : " + e.message;
    status.className = "error";
  }
}

async function copySituation() {
  const text = JSON.stringify(situation(), null, 2);
  const status = document.getElementById("copy-status");
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Situation copiée.";
  } catch (e) {
    status.textContent = "Copie impossible ici ; la voici : " + text;
  }
}

async function start() {
  const [schema, rulebook] = await Promise.all([api("/schema"), api("/rulebook")]);
  state.schema = schema;
  // the document shape with "date" and "faits" (the schema also admits the facts alone)
  const shape = (schema.anyOf || [schema]).find((s) => s.properties && s.properties.faits);
  state.facts = shape.properties.faits.properties;
  document.getElementById("rulebook-info").textContent = "Recueil : " + rulebook.title + ".";
  const date = document.getElementById("f-date");
  date.value = new Date().toISOString().slice(0, 10);
  date.addEventListener("change", refresh);
  document.getElementById("situation-form").addEventListener("submit", decide);
  document.getElementById("reset-button").addEventListener("click", () => { state.answers = {}; state.skipped = new Set(); state.checklistFacts = new Set(); document.getElementById("verdict").hidden = true; refresh(); });
  document.getElementById("copy-button").addEventListener("click", copySituation);
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => start().catch((e) => {
  const status = document.getElementById("form-status");
  status.textContent = "Le service ne répond pas : " + e.message;
  status.className = "error";
}));
