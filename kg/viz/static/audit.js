
(function(){
  'use strict';
  const items = Array.from(document.querySelectorAll('section.item'));
  const buttons = Array.from(document.querySelectorAll('nav#items button[data-item]'));
  function selectItem(id){
    for (const s of items) s.hidden = s.dataset.request !== id;
    for (const b of buttons) b.setAttribute('aria-current', b.dataset.item === id ? 'true' : 'false');
  }
  function reach(sec, start){
    const next = new Map();
    for (const p of sec.querySelectorAll('path.edge')){
      if (!next.has(p.dataset.from)) next.set(p.dataset.from, []);
      next.get(p.dataset.from).push(p.dataset.to);
    }
    const seen = new Set([start]); const todo = [start];
    while (todo.length){ for (const n of (next.get(todo.pop()) || [])) if (!seen.has(n)){ seen.add(n); todo.push(n); } }
    return seen;
  }
  function selectCriterion(sec, key){
    for (const d of sec.querySelectorAll('.detail')) d.hidden = d.dataset.criterion !== key;
    for (const b of sec.querySelectorAll('button.criterion')) b.setAttribute('aria-pressed', b.dataset.criterion === key ? 'true' : 'false');
    const hint = sec.querySelector('.hint'); if (hint) hint.hidden = true;
    const keep = reach(sec, 'criterion:' + key);
    for (const g of sec.querySelectorAll('g.node')){
      const k = g.dataset.node.split(':')[0];
      const inPath = keep.has(g.dataset.node) || k === 'request' || k === 'decision' || k === 'reviewer' || k === 'guideline';
      g.classList.toggle('dim', !inPath);
      g.classList.toggle('selected', g.dataset.node === 'criterion:' + key);
    }
    for (const p of sec.querySelectorAll('path.edge')){
      const k = p.dataset.from.split(':')[0];
      p.classList.toggle('dim', !(keep.has(p.dataset.from) || k !== 'criterion' && k !== 'fact'));
    }
  }
  document.addEventListener('click', function(ev){
    const b = ev.target.closest('[data-item]');
    if (b){ selectItem(b.dataset.item); return; }
    const c = ev.target.closest('[data-criterion]');
    if (c){ const sec = c.closest('section.item'); if (sec) selectCriterion(sec, c.dataset.criterion); }
  });
  document.addEventListener('keydown', function(ev){
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    const c = ev.target.closest && ev.target.closest('g[data-criterion]');
    if (c){ ev.preventDefault(); selectCriterion(c.closest('section.item'), c.dataset.criterion); }
  });
  if (buttons.length) selectItem(buttons[0].dataset.item);
})();
