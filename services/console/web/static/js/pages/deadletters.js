// Dead letters: what failed, where and why, the body that failed, and a
// redrive that republishes it to the subject it failed from, once.
import { h, table, field, announce } from '../dom.js';
import { api, query, APIError } from '../api.js';
import { when, utc, bytes } from '../format.js';
import { pagedList } from '../paged.js';

export async function renderDeadletters(ctx) {
  ctx.setTitle('Dead letters');
  const q = ctx.query;
  const stage = h('input', { id: 'dl-stage', name: 'stage', value: q.get('stage') || '', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
  const source = h('input', { id: 'dl-source', name: 'source', value: q.get('source') || '', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Dead letters' },
    field('dl-stage', 'Stage', stage),
    field('dl-source', 'Source', source),
    h('div', { class: 'field field-submit' }, h('button', { type: 'submit' }, 'Filter')));
  const results = h('section', { class: 'results', 'aria-labelledby': 'dl-results-title' });
  ctx.main.replaceChildren(h('h1', null, 'Dead letters'), form, results);

  const { load, fail } = pagedList(ctx, {
    section: results,
    titleId: 'dl-results-title',
    path: '/deadletters',
    noun: 'dead letters',
    fetchPage: async (p, signal) => {
      const page = await api.deadletters(p, signal);
      return { items: page.deadletters || [], next: page.next_cursor };
    },
    renderTable: (list) => table({
      caption: 'Dead letters, oldest first',
      captionClass: 'visually-hidden',
      className: 'stack deadletters',
      head: ['Seq', 'Stage', 'Source', 'Reason', 'Age', 'Failed from'],
      rows: list.map((d) => [
        h('a', { href: '/deadletters/' + encodeURIComponent(d.seq), 'aria-label': 'Dead letter ' + d.seq }, '#' + d.seq),
        d.stage || '–',
        d.source || '–',
        { node: d.reason || '–', class: 'reason' },
        when(d.at),
        { node: d.from ? h('code', null, d.from) : '–', class: 'subject' },
      ]),
    }),
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = { stage: stage.value.trim(), source: source.value.trim() };
    ctx.push('/deadletters' + query(p));
    load(p, '').catch(fail);
  });

  await load({ stage: q.get('stage') || '', source: q.get('source') || '' }, q.get('cursor') || '');
}

// bodyText shows a JSON body indented and anything else as it came; a body
// that is not UTF-8 arrives base64-encoded and is shown that way.
function bodyText(d) {
  const body = d.body ?? '';
  if (d.body_encoding === 'base64') return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function headersTable(headers) {
  const rows = [];
  for (const [k, v] of Object.entries(headers || {})) {
    for (const one of Array.isArray(v) ? v : [v]) rows.push([k, { node: String(one), class: 'mono wrap' }]);
  }
  rows.sort((a, b) => a[0].localeCompare(b[0]));
  return table({
    caption: 'Headers', captionClass: 'visually-hidden', className: 'headers',
    head: ['Name', 'Value'], rows, empty: 'No headers.',
  });
}

export async function renderDeadletter(ctx) {
  const [seq] = ctx.params;
  ctx.setTitle('Dead letter ' + seq);
  const d = await api.deadletter(seq, ctx.signal);
  // from is the subject it failed from, where a redrive sends it (subject
  // is its place in DEADLETTER).
  const from = d.from;

  const result = h('div', { class: 'result', role: 'status' });
  const cancel = h('button', { type: 'submit', value: 'cancel', class: 'secondary' }, 'Cancel');
  const confirm = h('button', { type: 'submit', value: 'redrive', class: 'danger', id: 'confirm-redrive' }, 'Redrive');
  const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'confirm-title' }, `Redrive dead letter #${d.seq}?`),
      h('p', { id: 'confirm-text' }, 'It is republished to ', h('code', null, from || 'the subject it failed from'),
        ' and removed from the dead letters. Do this after the cause is fixed.'),
      h('div', { class: 'actions' }, cancel, confirm)));
  const redrive = h('button', { type: 'button', id: 'redrive', class: 'danger' }, 'Redrive…');

  redrive.addEventListener('click', () => {
    dialog.returnValue = '';
    dialog.showModal();
    cancel.focus(); // the safe choice is the default one
  });
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'redrive') { redrive.focus(); return; }
    redrive.disabled = true;
    result.replaceChildren(h('p', null, 'Redriving…'));
    try {
      const res = await api.redrive(d.seq);
      const to = (res && res.subject) || from;
      result.replaceChildren(
        h('p', { class: 'ok' }, `Redriven: dead letter #${d.seq} was republished`, to ? [' to ', h('code', null, to)] : null,
          ' and removed from the dead letters.'),
        h('p', null, h('a', { href: '/deadletters', id: 'back-to-list' }, 'Back to dead letters')));
      redrive.hidden = true;
      announce('Dead letter redriven');
    } catch (err) {
      if (err.name === 'Unauthorized') { ctx.unauthorized(); return; }
      redrive.disabled = false;
      const gone = err instanceof APIError && err.status === 404;
      if (gone) redrive.hidden = true;
      result.replaceChildren(h('p', { class: 'error' }, gone
        ? 'This dead letter is gone: it was already redriven or has expired.'
        : 'Redrive failed: ' + (err.message || err)),
      h('p', null, h('a', { href: '/deadletters' }, 'Back to dead letters')));
    }
    result.querySelector('a')?.focus();
  });

  ctx.main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '/deadletters' }, 'Dead letters'), ' / #' + d.seq),
    h('h1', null, `Dead letter #${d.seq}`),
    h('section', { class: 'card', 'aria-label': 'Summary' },
      h('dl', { class: 'meta' },
        h('dt', null, 'Reason'), h('dd', { class: 'reason' }, d.reason || '–'),
        h('dt', null, 'Stage'), h('dd', null, d.stage || '–'),
        h('dt', null, 'Source'), h('dd', null, d.source || '–'),
        h('dt', null, 'Failed from'), h('dd', null, from ? h('code', null, from) : '–'),
        h('dt', null, 'Dead-lettered'), h('dd', null, when(d.at), ' (', utc(d.at), ')'),
        d.size !== undefined ? [h('dt', null, 'Size'), h('dd', null, bytes(d.size))] : null),
      h('div', { class: 'actions' }, redrive),
      result),
    h('section', { 'aria-labelledby': 'body-title' },
      h('h2', { id: 'body-title' }, 'Body'),
      d.body_encoding === 'base64' ? h('p', { class: 'help' }, 'Not UTF-8: shown base64-encoded.') : null,
      h('pre', { class: 'body', tabindex: '0', 'aria-labelledby': 'body-title' }, h('code', null, bodyText(d)))),
    h('section', { 'aria-labelledby': 'headers-title' },
      h('h2', { id: 'headers-title' }, 'Headers'),
      headersTable(d.headers)),
    dialog,
  );
}
