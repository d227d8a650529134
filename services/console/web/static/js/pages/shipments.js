// Shipments: the search support uses ("where is order 33516482?"), with
// status and carrier filters and cursor paging. The filters live in the URL,
// so a search can be shared and Back returns to it.
import { h, table, field } from '../dom.js';
import { pagedList } from '../paged.js';
import { api, query } from '../api.js';
import { STATUSES, CARRIERS, statusBadge, statusLabel, when, num } from '../format.js';

function refsText(refs) {
  const entries = Object.entries(refs || {});
  if (entries.length === 0) return '–';
  return h('ul', { class: 'inline-refs' }, entries.map(([k, v]) => h('li', null, h('span', { class: 'ref-name' }, k + ': '), v)));
}

export async function renderShipments(ctx) {
  ctx.setTitle('Shipments');
  const q = ctx.query;
  const search = h('input', {
    id: 'q', name: 'q', type: 'search', value: q.get('q') || '', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'q-help', enterkeyhint: 'search',
  });
  const status = h('select', { id: 'status', name: 'status' },
    h('option', { value: '' }, 'Any status'),
    STATUSES.map((st) => h('option', { value: st }, statusLabel(st))));
  status.value = q.get('status') || '';
  const carrier = h('input', {
    id: 'carrier', name: 'carrier', list: 'carrier-codes', value: q.get('carrier') || '',
    autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none',
  });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Shipments' },
    field('q', 'Search', search, h('span', { id: 'q-help', class: 'help' }, 'Order id, tracking number or any reference, exactly or by prefix')),
    field('status', 'Status', status),
    field('carrier', 'Carrier', carrier,
      h('datalist', { id: 'carrier-codes' }, CARRIERS.map((c) => h('option', { value: c })))),
    h('div', { class: 'field field-submit' }, h('button', { type: 'submit' }, 'Search')),
  );
  const results = h('section', { class: 'results', 'aria-labelledby': 'results-title' });

  ctx.main.replaceChildren(h('h1', null, 'Shipments'), form, results);

  const params = () => ({ q: search.value.trim(), status: status.value, carrier: carrier.value.trim().toLowerCase() });

  const { load, fail } = pagedList(ctx, {
    section: results,
    titleId: 'results-title',
    path: '/shipments',
    noun: 'shipments',
    fetchPage: async (p, signal) => {
      const page = await api.shipments(p, signal);
      return { items: page.shipments || [], next: page.next_cursor };
    },
    renderTable: (list) => table({
      caption: 'Shipments, newest status first',
      captionClass: 'visually-hidden',
      className: 'stack shipments',
      head: ['Tracking number', 'Carrier', 'Status', 'Since', 'Estimated delivery', { label: 'Events', class: 'num' }, 'References'],
      rows: list.map((sh) => [
        h('a', { href: `/shipments/${encodeURIComponent(sh.carrier)}/${encodeURIComponent(sh.tracking_number)}`, class: 'mono' }, sh.tracking_number),
        sh.carrier,
        [statusBadge(sh.status), sh.stalled_at ? h('span', { class: 'tag tag-stalled' }, 'stalled') : null],
        when(sh.status_at),
        sh.estimated_delivery || '–',
        { node: num(sh.event_count), class: 'num' },
        refsText(sh.references),
      ]),
    }),
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = params();
    ctx.push('/shipments' + query(p));
    load(p, '').catch(fail);
  });

  // The first load's errors (401, server down) go to the router.
  await load({ q: q.get('q') || '', status: q.get('status') || '', carrier: q.get('carrier') || '' }, q.get('cursor') || '');
}
