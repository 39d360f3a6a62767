// klpcheck explore: the page for the path in the URL (#/steps/0/3/5: the initial state, then
// the index of each step among the actions the model offers), from /.states/PATH, and the
// status panel from /.status, polled until the on-demand checker is done.
'use strict';

const $ = (id) => document.getElementById(id);
let status = null;
let view = null;

// An element with attributes and children (strings become text).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

function currentPath() {
  const m = location.hash.match(/^#\/steps\/([0-9]+(?:\/[0-9]+)*)$/);
  return m ? m[1] : null;
}

async function refreshStatus() {
  status = await getJson('/.status');
  $('target').textContent = `scenario ${status.scenario}, variant ${status.variant}`;
  if (status.trace) {
    const t = $('trace');
    t.hidden = false;
    t.replaceChildren('trace: ', status.trace, ' ', el('a', { href: '#/steps/' + status.start }, '(its last step)'));
  }
  $('legend').replaceChildren(...status.legend.map((c) => el('span', { class: 'chip ' + c.class }, c.label)));
  $('status').textContent = `checker ${status.done ? 'done' : 'runs on demand'}: ${status.states} states, ` +
    `${status.unique_states} unique, depth ${status.max_depth}.`;
  renderProperties();
  if (!status.done) setTimeout(refreshStatus, 2000);
}

// One row per property: its name, its value in the current state, and what the on-demand
// checker found (a link to the first state found) once it ran.
function renderProperties() {
  if (!status) return;
  const here = new Map((view ? view.properties : []).map((p) => [p.name, p.holds]));
  $('properties').replaceChildren(...status.properties.map((p) => {
    const holds = here.get(p.name);
    const always = p.expectation === 'always';
    let found;
    if (p.discovery) {
      found = el('a', { href: '#/steps/' + p.discovery }, always ? 'counterexample' : 'example');
    } else if (status.done) {
      found = always ? 'holds everywhere' : 'never true';
    } else {
      found = 'not searched yet';
    }
    const bad = always ? (holds === false || !!p.discovery) : (status.done && !p.discovery);
    return el('li', { class: bad ? 'bad' : undefined, title: p.statement },
      el('span', { class: 'label' }, `${p.expectation} ${p.name}`),
      holds === undefined ? '' : ` — ${holds ? 'true' : 'false'} here`, '; checker: ', found);
  }));
}

async function show() {
  const path = currentPath();
  if (path === null) {
    if (!status) await refreshStatus();
    location.replace('#/steps/' + status.start); // fires hashchange
    return;
  }
  try {
    view = await getJson('/.states/' + path);
  } catch (e) {
    $('dmesg').textContent = String(e);
    return;
  }
  const last = view.path.length - 1;
  $('path').replaceChildren(...view.path.map((row, i) =>
    el('li', { class: i === last ? 'current' : undefined }, el('a', { href: '#/steps/' + row.href }, row.label))));
  $('actions').replaceChildren(...view.actions.map((n) => n.href
    ? el('li', {}, el('a', { href: '#/steps/' + n.href, title: n.dmesg.join('\n') || undefined }, n.label))
    : el('li', { class: 'refused', title: 'the model refuses this step here' }, el('span', { class: 'label' }, n.label))));
  if (view.actions.length === 0) $('actions').append(el('li', {}, 'none: no step is enabled'));
  $('dmesg').textContent = view.dmesg.join('\n') || '(none)';
  $('sleepers').replaceChildren(...view.sleepers.map((s) => el('li', {},
    el('span', { class: 'label' }, s.task), ' sleeps in ',
    el('span', { class: 'chip ' + (s.class || '') }, s.place), ': ',
    el('span', { class: 'label sleep-kind' }, s.kind))));
  if (view.sleepers.length === 0) $('sleepers').append(el('li', {}, 'none'));
  $('picture').innerHTML = view.svg;
  renderProperties();
}

$('run').addEventListener('click', async () => {
  await fetch('/.runtocompletion', { method: 'POST' });
  refreshStatus();
});
window.addEventListener('hashchange', show);
refreshStatus().then(show);
