
const $ = (id) => document.getElementById(id);
const CASE = /^https:\/\/w3id\.org\/imr-kg\/case\/([^/]+)\/$/;
const library = new Map();
function el(tag, text, cls){
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function caseLink(id, text){
  const a = el('a', text); a.href = 'cases/' + encodeURIComponent(id); a.dataset.case = id;
  a.addEventListener('click', (ev) => { ev.preventDefault(); showCase(id); });
  return a;
}
function show(doc){
  const out = $('out'); out.textContent = '';
  if ('boolean' in doc){ out.textContent = String(doc.boolean); return; }
  const table = el('table'); table.id = 'results'; const head = table.createTHead().insertRow();
  for (const v of doc.head.vars) head.appendChild(el('th', v));
  const body = table.createTBody();
  for (const b of doc.results.bindings){
    const tr = body.insertRow();
    for (const v of doc.head.vars){
      const td = tr.insertCell(); const t = b[v];
      const m = t && t.type === 'uri' && t.value.match(CASE);
      if (m) td.appendChild(caseLink(decodeURIComponent(m[1]), t.value));
      else td.textContent = t ? t.value : '';
    }
  }
  out.appendChild(table);
}
function chosen(){
  const q = library.get($('examples').value);
  return q && $('query').value === q.sparql ? q : null;
}
async function runQuery(ev){
  ev.preventDefault();
  $('status').textContent = 'running...';
  const q = chosen(); const bound = new URLSearchParams();
  if (q) for (const p of q.parameters){ const v = $('param-' + p.name).value.trim(); if (v) bound.append(p.name, v); }
  const accept = {'Accept': 'application/sparql-results+json'};
  const resp = (q && [...bound].length)
    ? await fetch('queries/' + encodeURIComponent(q.name) + '?' + bound, {headers: accept})
    : await fetch('sparql', {method: 'POST', body: new URLSearchParams({query: $('query').value}), headers: accept});
  if (!resp.ok){ $('status').textContent = resp.status + ': ' + await resp.text(); $('out').textContent = ''; return; }
  const truncated = resp.headers.get('X-Result-Truncated') === 'true';
  const doc = await resp.json();
  show(doc);
  $('status').textContent = (doc.results ? doc.results.bindings.length + ' rows' : 'done') +
      (truncated ? ' (truncated at ' + resp.headers.get('X-Result-Limit') + ')' : '');
}
function choose(){
  const q = library.get($('examples').value); const params = $('params');
  params.textContent = ''; $('about').textContent = '';
  if (!q) return;
  $('query').value = q.sparql; $('about').textContent = q.question;
  for (const p of q.parameters){
    const label = el('label', '?' + p.name + ' (' + p.type + ') ' + p.description + ' ');
    const input = el('input'); input.id = 'param-' + p.name; input.placeholder = 'unbound: every value';
    label.appendChild(input); params.appendChild(label);
  }
}
async function loadExamples(){
  const resp = await fetch('queries'); if (!resp.ok) return;
  const sel = $('examples');
  for (const q of await resp.json()){
    library.set(q.name, q);
    const o = el('option', q.name + ' - ' + q.title); o.value = q.name; sel.appendChild(o);
  }
  sel.addEventListener('change', choose);
}
async function loadCases(){
  const resp = await fetch('cases'); if (!resp.ok) return;
  const list = $('cases');
  for (const id of (await resp.json()).cases){
    const li = el('li'); li.appendChild(caseLink(id, id)); list.appendChild(li);
  }
}
const WORDS = {medically_necessary: 'medically necessary', not_medically_necessary: 'not medically necessary',
  not_covered: 'not covered by an encoded guideline section', met: 'met', not_met: 'not met',
  not_documented: 'not documented', not_applicable: 'not applicable'};
const word = (w) => WORDS[w] || w;
function criteriaTable(criteria){
  const t = el('table', undefined, 'criteria'); const hr = t.createTHead().insertRow();
  for (const c of ['#', 'criterion', 'status', 'why']) hr.appendChild(el('th', c));
  const tb = t.createTBody();
  for (const c of criteria){
    const r = tb.insertRow();
    r.insertCell().textContent = c.number;
    r.insertCell().textContent = c.label;
    r.insertCell().appendChild(el('span', word(c.status), c.status));
    r.insertCell().textContent = c.reasons.join(' ');
  }
  return t;
}
async function showCase(id){
  const box = $('case'); box.textContent = 'loading ' + id + '...';
  const resp = await fetch('cases/' + encodeURIComponent(id));
  if (!resp.ok){ box.textContent = resp.status + ': ' + await resp.text(); return; }
  const det = await resp.json(); box.textContent = '';
  const h = el('h2', 'Case ' + det.case + ' ');
  const json = el('a', '(JSON)'); json.href = 'cases/' + encodeURIComponent(id);
  h.appendChild(json); box.appendChild(h);
  for (const item of det.items){
    const sec = el('section', undefined, 'item'); sec.dataset.request = item.request;
    sec.appendChild(el('h3', item.service));
    const p = el('p');
    p.appendChild(el('strong', 'Engine: ')); p.appendChild(el('span', word(item.engine_decision), 'engine'));
    p.appendChild(el('strong', ' | reviewer: ')); p.appendChild(el('span', item.reviewer_decision || 'none', 'reviewer'));
    sec.appendChild(p);
    const g = item.guideline;
    if (g) sec.appendChild(el('p', g.version_label + ', section "' + g.section_label + '"'));
    else if (item.note) sec.appendChild(el('p', item.note));
    if (item.criteria.length) sec.appendChild(criteriaTable(item.criteria));
    sec.appendChild(el('pre', item.rationale));
    box.appendChild(sec);
  }
  box.scrollIntoView();
}
$('form').addEventListener('submit', runQuery);
loadExamples();
loadCases();
