// The web view's page: HTML, stylesheet and script served as three same-origin resources, so the
// Content-Security-Policy needs no 'unsafe-inline'. The script builds every element with
// textContent, never innerHTML: repository names, tags and messages are data, not markup.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>regbook</title>
<link rel="stylesheet" href="app.css">
<script src="app.js" defer></script>
</head>
<body>
<header>
  <h1>regbook <span id="registry"></span></h1>
  <div class="bar">
    <button type="button" id="refresh">Refresh</button>
    <span id="read-at" aria-live="polite"></span>
  </div>
</header>
<main>
  <section id="confirm" class="confirm" hidden aria-labelledby="confirm-text">
    <p id="confirm-text"></p>
    <button type="button" id="confirm-delete" class="danger">Delete</button>
    <button type="button" id="confirm-cancel">Cancel</button>
  </section>
  <section aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2><ul id="summary"></ul></section>
  <section aria-labelledby="h-repos"><h2 id="h-repos">Repositories</h2><div id="repositories"></div></section>
  <section aria-labelledby="h-images"><h2 id="h-images">Images on the hosts</h2><div id="images"></div></section>
  <section aria-labelledby="h-cert"><h2 id="h-cert">Certificate</h2><dl id="certificate"></dl></section>
  <section id="replicas-section" hidden aria-labelledby="h-replicas"><h2 id="h-replicas">Registry replicas</h2><div id="replicas"></div></section>
  <section aria-labelledby="h-hosts"><h2 id="h-hosts">Hosts</h2><div id="hosts"></div></section>
  <section aria-labelledby="h-log"><h2 id="h-log">Log</h2><ol id="log" aria-live="polite"></ol></section>
</main>
</body>
</html>
`;

export const PAGE_CSS = `:root { color-scheme: light dark; --bad: #b00020; --warn: #8a5a00; --ok: #1b6e20; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 0 1rem 2rem; max-width: 72rem; }
header { position: sticky; top: 0; background: Canvas; padding: .5rem 0; border-bottom: 1px solid GrayText; z-index: 1; }
h1 { font-size: 1.3rem; margin: .2rem 0; overflow-wrap: anywhere; }
h1 span { font-weight: normal; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
.bar { display: flex; gap: .8rem; align-items: center; flex-wrap: wrap; }
button { font: inherit; padding: .35rem .8rem; border-radius: .3rem; border: 1px solid GrayText; background: ButtonFace; color: ButtonText; cursor: pointer; min-height: 2.2rem; }
button.danger { border-color: var(--bad); color: var(--bad); }
button:focus-visible { outline: 3px solid Highlight; outline-offset: 2px; }
button:disabled { opacity: .6; cursor: progress; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid color-mix(in srgb, GrayText 40%, transparent); vertical-align: top; }
code { font-size: .85em; overflow-wrap: anywhere; }
.bad, .drift { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); }
.good { color: var(--ok); }
tr.drift td:first-child::before { content: "⚠ "; }
.confirm { scroll-margin-top: 6rem; border: 2px solid var(--bad); border-radius: .4rem; padding: .6rem 1rem; margin: 1rem 0; }
.confirm p { margin: 0 0 .6rem; font-weight: 600; }
#log { font-family: ui-monospace, monospace; font-size: .85rem; padding-left: 1.5rem; }
#log li.error { color: var(--bad); }
#log li, #summary li, .confirm p { overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  body { padding: 0 .5rem 2rem; }
  table, thead, tbody, tr, th, td { display: block; }
  thead { position: absolute; left: -9999px; }
  tr { border-bottom: 1px solid GrayText; padding: .3rem 0; }
  td { border: 0; padding: .15rem 0; overflow-wrap: anywhere; }
  td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
  dl { grid-template-columns: 1fr; }
}
`;

// Plain browser script, no build step: it runs as served.
export const PAGE_JS = String.raw`'use strict';
(function () {
  var state = null;
  var pending = null;
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function table(headers, rows) {
    var t = el('table');
    var head = t.createTHead().insertRow();
    headers.forEach(function (h) { head.appendChild(el('th', h)).setAttribute('scope', 'col'); });
    var body = t.createTBody();
    rows.forEach(function (r) {
      var tr = body.insertRow();
      if (r.cls) tr.className = r.cls;
      if (r.id) tr.id = r.id;
      r.cells.forEach(function (c, i) {
        var td = tr.insertCell();
        td.setAttribute('data-label', headers[i]);
        if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined ? '' : String(c);
        if (r.cellCls && r.cellCls[i]) td.className = r.cellCls[i];
      });
    });
    return t;
  }
  function log(text, isError) {
    var li = el('li', new Date().toLocaleTimeString() + '  ' + text, isError ? 'error' : '');
    $('log').appendChild(li);
  }
  function short(d) { return d ? d.replace(/^sha256:/, '').slice(0, 12) : ''; }
  function code(text, title) { var c = el('code', text); if (title) c.title = title; return c; }

  function render(s) {
    state = s;
    $('registry').textContent = s.registry;
    $('read-at').textContent = 'read ' + new Date(s.readAt).toLocaleString();
    // To the millisecond: two reads within one second differ here even when the text does not.
    $('read-at').setAttribute('data-read-at', s.readAt);
    var sum = clear($('summary'));
    // As regbook status judges: healthy only with no problem, no warning and no change pending.
    if (s.problems.length + s.warnings.length + s.pending.length === 0) sum.appendChild(el('li', 'healthy', 'good'));
    s.warnings.forEach(function (w) { sum.appendChild(el('li', 'warning: ' + w, 'warn')); });
    s.problems.forEach(function (p) { sum.appendChild(el('li', 'problem: ' + p, 'bad')); });
    s.pending.forEach(function (c) { sum.appendChild(el('li', 'change pending: ' + c, 'warn')); });

    var repos = clear($('repositories'));
    if (s.api.error) repos.appendChild(el('p', 'The registry could not be read: ' + s.api.error, 'bad'));
    else if (s.repositories.length === 0) repos.appendChild(el('p', 'The registry is empty.'));
    var rows = [];
    s.repositories.forEach(function (r) {
      r.tags.forEach(function (t) {
        var ref = r.repository + ':' + t.tag;
        var cell = el('span');
        if (s.deleteEnabled) {
          var b = el('button', 'Delete', 'danger');
          b.type = 'button';
          b.setAttribute('aria-label', 'Delete ' + ref);
          b.dataset.repository = r.repository;
          b.dataset.tag = t.tag;
          b.addEventListener('click', function () { ask(r.repository, t.tag, b); });
          cell.appendChild(b);
        } else cell.textContent = 'delete off';
        rows.push({
          id: 'tag-' + ref,
          cells: [r.repository, t.tag, code(short(t.digest), t.digest), t.sizeText || '', t.created ? new Date(t.created).toLocaleString() : '', cell],
        });
      });
      if (r.tags.length === 0) rows.push({ cells: [r.repository, '(no tags)', '', '', '', ''] });
    });
    if (rows.length) repos.appendChild(table(['Repository', 'Tag', 'Digest', 'Size', 'Created', 'Action'], rows));

    var imgs = clear($('images'));
    if (s.images.length === 0) imgs.appendChild(el('p', 'The playbook declares no images.'));
    var irows = [];
    s.images.forEach(function (i) {
      i.hosts.forEach(function (h) {
        var drift = h.state === 'differs' || h.state === 'missing';
        var what = {
          same: 'same as the registry',
          differs: 'differs from the registry',
          missing: 'missing (pullOn names this host)',
          absent: 'not held (not pulled here)',
          unserved: 'held; the registry no longer serves it',
          unknown: 'unknown',
        }[h.state];
        irows.push({
          cls: drift ? 'drift' : '',
          id: 'hold-' + i.name + '@' + h.host,
          cells: [i.name, h.host, code(short(h.imageId), h.imageId), code(short(i.registryImageId), i.registryImageId), what],
          cellCls: [null, null, null, null, drift ? 'drift' : h.state === 'same' ? 'good' : ''],
        });
      });
      if (!i.registryDigest) irows.push({ cls: 'drift', cells: [i.name, '(registry)', '', '', 'not in the registry'], cellCls: [null, null, null, null, 'drift'] });
    });
    // The host's image id beside the registry's: the two are the same id when the host holds the image served.
    if (irows.length) imgs.appendChild(table(['Image', 'Host', 'Image id', 'Registry image id', 'State'], irows));

    var cert = clear($('certificate'));
    function pair(k, v, cls) { cert.appendChild(el('dt', k)); cert.appendChild(el('dd', v, cls)); }
    var c = s.certificate;
    if (s.plainHttp) pair('TLS', 'none: the registry speaks plain HTTP', 'warn');
    else if (!c.present) pair('Certificate', 'missing (' + c.path + ')', 'bad');
    else if (c.error) pair('Certificate', 'unreadable: ' + c.error, 'bad');
    else {
      pair('Subject', c.subject || '(no CN)');
      pair('Issuer', c.issuer || '(no CN)');
      pair('SANs', (c.sans || []).join(', '));
      pair('Expires', (c.notAfter || '').slice(0, 10));
      pair('Days left', c.daysLeft, c.daysLeft < 0 ? 'bad' : c.daysLeft <= s.renewBeforeDays ? 'warn' : 'good');
      pair('SHA-256', c.fingerprint || '');
    }
    // With replicas, each one's container is in their table.
    if (!s.replicas) pair('Registry container', s.container.present ? s.container.name + ' ' + s.container.state : s.container.name + ' missing', s.container.state === 'running' ? 'good' : 'bad');

    // The rows are status's own (ui/status-report.ts): text and tone per cell, made on the server.
    function cellsRow(id, item, healthy) {
      return {
        id: id,
        cls: healthy ? '' : 'drift',
        cells: item.cells.map(function (c) { return c.text; }),
        cellCls: item.cells.map(function (c) { return c.tone || ''; }),
      };
    }
    var replicas = s.replicas || [];
    $('replicas-section').hidden = replicas.length === 0;
    var rep = clear($('replicas'));
    if (replicas.length) {
      rep.appendChild(table(['Replica', 'Container', 'Settings', '/v2/ directly', 'Health'], replicas.map(function (r) {
        return cellsRow('replica-' + r.host, r, r.health === 'up');
      })));
    }

    var hosts = clear($('hosts'));
    hosts.appendChild(table(['Host', 'Role', 'Reachable', 'Docker', 'certs.d', 'System store', '/v2/'], s.hosts.map(function (h) {
      return cellsRow('host-' + h.name, h, h.reachable && !h.error);
    })));
  }

  // aria-busy covers a read and a delete with the read that follows it: assistive technology (and a
  // test driving the page) waits for the rows to settle instead of acting on rows about to be redrawn.
  var busy = 0;
  function working(on) {
    busy += on ? 1 : -1;
    if (busy > 0) document.body.setAttribute('aria-busy', 'true'); else document.body.removeAttribute('aria-busy');
  }

  function refresh() {
    var b = $('refresh');
    working(true);
    b.disabled = true;
    b.textContent = 'Reading…';
    return fetch('api/state', { cache: 'no-store' })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.status); return j; }); })
      .then(render)
      .catch(function (e) { log('refresh failed: ' + e.message, true); })
      .finally(function () { b.disabled = false; b.textContent = 'Refresh'; working(false); });
  }

  function ask(repository, tag, from) {
    pending = { repository: repository, tag: tag, from: from };
    $('confirm-text').textContent = 'Delete ' + repository + ':' + tag + ' from the registry ' + state.registry + '? Other tags on the same digest stay.';
    $('confirm-delete').textContent = 'Delete ' + repository + ':' + tag;
    $('confirm').hidden = false;
    $('confirm-cancel').focus();
  }
  function closeConfirm() {
    var p = pending;
    pending = null;
    $('confirm').hidden = true;
    if (p && p.from && document.body.contains(p.from)) p.from.focus(); else $('refresh').focus();
  }
  function confirmDelete() {
    if (!pending) return;
    var p = pending;
    var b = $('confirm-delete');
    b.disabled = true;
    working(true);
    log('removing ' + p.repository + ':' + p.tag + ' (taking the deploy lock)…');
    fetch('api/rm', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ repository: p.repository, tag: p.tag }) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.status); return j; }); })
      .then(function (j) { j.lines.forEach(function (l) { log(l); }); })
      .catch(function (e) { log('delete of ' + p.repository + ':' + p.tag + ' failed: ' + e.message, true); })
      .finally(function () { b.disabled = false; closeConfirm(); refresh().finally(function () { working(false); }); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('refresh').addEventListener('click', refresh);
    $('confirm-delete').addEventListener('click', confirmDelete);
    $('confirm-cancel').addEventListener('click', closeConfirm);
    $('confirm').addEventListener('keydown', function (e) { if (e.key === 'Escape') closeConfirm(); });
    refresh();
  });
})();
`;
