(function(){
'use strict';
// The query page: CodeMirror (window.ImrEditor, from static/editor.js) over the textarea, the
// library's queries with their parameters as a form, results as a sortable, paged table.
const $ = (id) => document.getElementById(id);
const NONCE = document.currentScript ? document.currentScript.nonce : '';
const PREFIXES = JSON.parse($('prefixes').textContent);
const CASE_BASE = PREFIXES.find(([p]) => p === 'case')[1];
const PAGE_SIZE = 50;
const library = new Map();
const textarea = $('query');
let editor = null;
let last = null;      // {url, init} of the last request, for the downloads
let table = null;     // {vars, rows, sort, dir, page}

function el(tag, text, cls){
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
const getText = () => editor ? editor.get() : textarea.value;
function setText(t){ if (editor) editor.set(t); textarea.value = t; }
function status(text, error){ $('status').textContent = text; $('status').className = error ? 'error' : ''; }

function shorten(iri){
  let best = null;
  for (const [p, ns] of PREFIXES){
    if (iri.startsWith(ns) && (!best || ns.length > best[1].length)) best = [p, ns];
  }
  if (!best) return iri;
  const local = iri.slice(best[1].length);
  return /^[A-Za-z0-9_\-./#]*$/.test(local) ? best[0] + ':' + local : iri;
}
function cell(t){
  const td = el('td');
  if (!t) return td;
  if (t.type === 'uri'){
    const short = shorten(t.value);
    if (t.value.startsWith(CASE_BASE)){
      const id = t.value.slice(CASE_BASE.length).split(/[/#]/)[0];
      const a = el('a', short); a.href = 'cases/' + encodeURIComponent(id); a.dataset.case = id; a.title = t.value;
      td.appendChild(a);
    } else {
      td.textContent = short;
      if (short !== t.value) td.title = t.value;
    }
  } else if (t.type === 'bnode') {
    td.textContent = '_:' + t.value;
  } else {
    td.textContent = t.value;
  }
  return td;
}
function sortKey(t){
  if (!t) return [2, ''];
  const n = Number(t.value);
  if (t.datatype && t.datatype.startsWith('http://www.w3.org/2001/XMLSchema#') && t.value !== '' && !isNaN(n)) return [0, n];
  return [1, t.value];
}
function compare(a, b){
  const ka = sortKey(a), kb = sortKey(b);
  if (ka[0] !== kb[0]) return ka[0] - kb[0];
  if (ka[0] === 0) return ka[1] - kb[1];
  return ka[1] < kb[1] ? -1 : ka[1] > kb[1] ? 1 : 0;
}
function renderTable(){
  const out = $('out'); out.textContent = '';
  const {vars, sort, dir} = table;
  let rows = table.rows;
  if (sort) rows = rows.slice().sort((a, b) => dir * compare(a[sort], b[sort]));
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  table.page = Math.min(table.page, pages - 1);
  const t = el('table'); t.id = 'results';
  const head = t.createTHead().insertRow();
  for (const v of vars){
    const th = el('th'); th.scope = 'col';
    th.setAttribute('aria-sort', sort === v ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    const b = el('button', v); b.type = 'button'; b.dataset.sort = v;
    b.addEventListener('click', () => {
      table.dir = table.sort === v ? -table.dir : 1; table.sort = v; table.page = 0; renderTable();
    });
    th.appendChild(b); head.appendChild(th);
  }
  const body = t.createTBody();
  for (const b of rows.slice(table.page * PAGE_SIZE, (table.page + 1) * PAGE_SIZE)){
    const tr = body.insertRow();
    for (const v of vars) tr.appendChild(cell(b[v]));
  }
  out.appendChild(t);
  if (pages > 1){
    const nav = el('nav', undefined, 'pager'); nav.setAttribute('aria-label', 'result pages');
    const prev = el('button', 'Previous'); prev.type = 'button'; prev.id = 'prev'; prev.disabled = table.page === 0;
    const next = el('button', 'Next'); next.type = 'button'; next.id = 'next'; next.disabled = table.page >= pages - 1;
    prev.addEventListener('click', () => { table.page--; renderTable(); });
    next.addEventListener('click', () => { table.page++; renderTable(); });
    const where = el('span', ' page ' + (table.page + 1) + ' of ' + pages + ' '); where.id = 'page';
    nav.append(prev, where, next); out.appendChild(nav);
  }
}
function chosen(){
  const q = library.get($('examples').value);
  return q && getText() === q.sparql ? q : null;
}
function request(accept){
  const q = chosen(); const bound = new URLSearchParams();
  if (q) for (const p of q.parameters){ const v = $('param-' + p.name).value.trim(); if (v) bound.append(p.name, v); }
  const headers = {'Accept': accept};
  if (q) return {url: 'queries/' + encodeURIComponent(q.name) + ([...bound].length ? '?' + bound : ''), init: {headers}};
  return {url: 'sparql', init: {method: 'POST', body: new URLSearchParams({query: getText()}), headers}};
}
async function run(){
  status('running\u2026');
  if (editor) editor.clearErrors();
  last = request('application/sparql-results+json, text/turtle;q=0.9');
  const resp = await fetch(last.url, last.init);
  const text = await resp.text();
  $('downloads').hidden = true;
  if (!resp.ok){
    $('out').textContent = '';
    status(resp.status + ': ' + text.trim(), true);
    const m = text.match(/line (\d+), column (\d+)/);
    if (m && editor && !chosen()) editor.markError(Number(m[1]), Number(m[2]), text.trim());
    return;
  }
  const truncated = resp.headers.get('X-Result-Truncated') === 'true'
    ? ' (truncated at ' + resp.headers.get('X-Result-Limit') + ')' : '';
  const graph = (resp.headers.get('Content-Type') || '').startsWith('text/turtle');
  for (const b of document.querySelectorAll('#downloads button')) b.hidden = (b.dataset.kind === 'graph') !== graph;
  $('downloads').hidden = false;
  if (graph){
    const out = $('out'); out.textContent = '';
    const pre = el('pre', text); pre.id = 'turtle'; pre.tabIndex = 0; pre.setAttribute('aria-label', 'the graph, as Turtle');
    out.appendChild(pre);
    status('graph result, as Turtle' + truncated);
    return;
  }
  const doc = JSON.parse(text);
  if ('boolean' in doc){ $('out').textContent = ''; $('out').appendChild(el('p', String(doc.boolean), 'boolean')); status('done'); return; }
  table = {vars: doc.head.vars, rows: doc.results.bindings, sort: null, dir: 1, page: 0};
  renderTable();
  const n = doc.results.bindings.length;
  status(n + (n === 1 ? ' row' : ' rows') + truncated);
}
async function download(ev){
  const b = ev.currentTarget;
  if (!last) return;
  const req = request(b.dataset.accept);
  const resp = await fetch(req.url, req.init);
  if (!resp.ok){ status(resp.status + ': ' + (await resp.text()).trim(), true); return; }
  const url = URL.createObjectURL(await resp.blob());
  const a = el('a'); a.href = url; a.download = b.dataset.file; document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
function choose(){
  const q = library.get($('examples').value); const params = $('params');
  params.textContent = ''; $('about').textContent = '';
  params.hidden = true;
  if (!q) return;
  setText(q.sparql); $('about').textContent = q.question;
  if (!q.parameters.length) return;
  params.appendChild(el('legend', 'Parameters of ' + q.name));
  for (const p of q.parameters){
    const label = el('label', '?' + p.name + ' (' + p.type + ') ' + p.description + ' ');
    const input = el('input'); input.id = 'param-' + p.name; input.name = p.name; input.placeholder = 'unbound: every value';
    input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter'){ ev.preventDefault(); run(); } });
    label.appendChild(input); params.appendChild(label);
  }
  params.hidden = false;
}
async function loadLibrary(){
  const resp = await fetch('queries', {headers: {'Accept': 'application/json'}}); if (!resp.ok) return;
  const sel = $('examples');
  for (const q of await resp.json()){
    library.set(q.name, q);
    const o = el('option', q.name + ' \u2013 ' + q.title); o.value = q.name; sel.appendChild(o);
  }
  sel.addEventListener('change', choose);
  const asked = new URLSearchParams(location.search).get('name');
  if (asked && library.has(asked)){ sel.value = asked; choose(); }
}
if (window.ImrEditor){
  editor = window.ImrEditor.create(textarea, {onRun: run, label: 'SPARQL query', nonce: NONCE});
  $('query-label').addEventListener('click', () => editor.focus());
} else {
  textarea.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)){ ev.preventDefault(); run(); } });
}
window.queryEditor = {get: getText, set: setText, run};
$('form').addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
for (const b of document.querySelectorAll('#downloads button')) b.addEventListener('click', download);
window.queryPageReady = loadLibrary();
})();
