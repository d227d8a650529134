// Live: normalized events as they are published, through Server-Sent Events
// on a subject filter built from the carrier, tracking number and status
// chosen (shipments.<carrier>.<tracking>.<status>). EventSource reconnects on
// its own and resumes after the last id it saw.
import { h, field, announce } from '../dom.js';
import { api, query } from '../api.js';
import { STATUSES, CARRIERS, statusBadge, statusLabel, place, wallClock, num } from '../format.js';

const MAX_ROWS = 500;

// token mirrors tracking.SubjectToken: anything outside [A-Za-z0-9-]
// becomes '_', so a typed value can never smuggle a wildcard or a dot.
function token(v) {
  return v.replace(/[^A-Za-z0-9-]/g, '_');
}

export function subjectFilter({ carrier, tracking, status }) {
  const parts = [
    carrier ? token(carrier.trim().toLowerCase()) : '',
    tracking ? token(tracking.replace(/\s+/g, '').toUpperCase()) : '',
    status || '',
  ];
  while (parts.length && parts[parts.length - 1] === '') parts.pop();
  const tail = parts.map((p) => p || '*');
  return ['shipments', ...tail, ...(tail.length < 3 ? ['>'] : [])].join('.');
}

function eventRow(ev, receivedAt) {
  const local = ev.local_time || wallClock(ev.occurred_at, ev.timezone, ev.occurred_at_precision === 'day');
  const href = `/shipments/${encodeURIComponent(ev.carrier)}/${encodeURIComponent(ev.tracking_number)}`;
  return h('li', { class: ['live-event', ev.late && 'is-late'] },
    h('p', { class: 'live-head' },
      statusBadge(ev.status), ' ',
      h('a', { href, class: 'mono' }, ev.tracking_number || ev.shipment_key || '?'), ' ',
      h('span', { class: 'carrier' }, ev.carrier || ''),
      ev.late ? h('span', { class: 'tag tag-late' }, 'late') : null),
    h('p', { class: 'live-when' },
      h('time', { class: 'event-local', datetime: ev.occurred_at || '' }, local), ' ',
      h('span', { class: 'event-zone' }, ev.timezone || 'UTC'),
      ev.timezone_inferred ? h('span', { class: 'tag tag-inferred' }, 'zone inferred') : null,
      ' · ', place(ev.location) || 'no location',
      ' · via ', ev.source || '?',
      ev.carrier_status ? [' · ', h('code', null, ev.carrier_status)] : null),
    ev.message ? h('p', { class: 'event-message' }, ev.message) : null,
    h('p', { class: 'live-received' }, 'received ',
      h('time', { datetime: receivedAt.toISOString() }, receivedAt.toLocaleTimeString())));
}

export async function renderLive(ctx) {
  ctx.setTitle('Live');
  const q = ctx.query;
  const carrier = h('input', { id: 'live-carrier', name: 'carrier', list: 'live-carrier-codes', value: q.get('carrier') || '', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
  const tracking = h('input', { id: 'live-tracking', name: 'tracking', value: q.get('tracking') || '', autocomplete: 'off', spellcheck: 'false' });
  const status = h('select', { id: 'live-status', name: 'status' },
    h('option', { value: '' }, 'Any status'),
    STATUSES.map((st) => h('option', { value: st }, statusLabel(st))));
  status.value = q.get('status') || '';
  const filterOut = h('output', { id: 'live-filter', for: 'live-carrier live-tracking live-status', class: 'mono' });
  const state = h('p', { id: 'live-state', class: 'live-state', role: 'status', 'data-state': 'idle' }, 'Not connected');
  const count = h('p', { class: 'count' });
  const list = h('ol', { class: 'live-list', id: 'live-events', 'aria-label': 'Events, newest first' });
  const stop = h('button', { type: 'button', class: 'secondary', id: 'live-stop' }, 'Stop');
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');

  const values = () => ({ carrier: carrier.value, tracking: tracking.value, status: status.value });
  const showFilter = () => { filterOut.textContent = subjectFilter(values()); };
  for (const el of [carrier, tracking, status]) el.addEventListener('input', showFilter);
  showFilter();

  const form = h('form', { class: 'filters', 'aria-label': 'Live filter' },
    field('live-carrier', 'Carrier', carrier),
    h('datalist', { id: 'live-carrier-codes' }, CARRIERS.map((c) => h('option', { value: c }))),
    field('live-tracking', 'Tracking number', tracking),
    field('live-status', 'Status', status),
    h('div', { class: 'field field-submit' }, h('button', { type: 'submit' }, 'Watch')),
  );

  ctx.main.replaceChildren(
    h('h1', null, 'Live events'),
    form,
    h('p', { class: 'help' }, 'Subject filter: ', filterOut),
    h('div', { class: 'live-bar' }, state, h('div', { class: 'actions' }, stop, clear)),
    count,
    list,
  );

  let es = null;
  let received = 0;
  let probe = null;

  function setState(name, text) {
    state.dataset.state = name;
    state.textContent = text;
  }
  function updateCount() {
    count.textContent = received ? `${num(received)} event${received === 1 ? '' : 's'} received` +
      (received > MAX_ROWS ? `, the newest ${MAX_ROWS} shown` : '') : 'Waiting for events…';
  }

  function close() {
    if (es) { es.close(); es = null; }
    if (probe) { probe.abort(); probe = null; }
  }

  // diagnose asks the same URL with fetch why EventSource gave up: it only
  // reports "error", not that the session expired or the filter is bad.
  async function diagnose(url) {
    probe = new AbortController();
    try {
      const res = await fetch(url, { signal: probe.signal, headers: { Accept: 'text/event-stream' } });
      if (res.status === 401) { close(); ctx.unauthorized(); return; }
      if (!res.ok) {
        let msg = 'HTTP ' + res.status;
        try { const j = await res.json(); msg = j.error || msg; } catch { /* keep status */ }
        setState('error', 'Not connected: ' + msg);
        return;
      }
      setState('closed', 'Disconnected. Press Watch to reconnect.');
    } catch (err) {
      if (err.name !== 'AbortError') setState('closed', 'Disconnected: the server cannot be reached. Press Watch to reconnect.');
    } finally {
      probe?.abort();
      probe = null;
    }
  }

  function start() {
    close();
    const filter = subjectFilter(values());
    const url = api.eventsURL(filter);
    setState('connecting', 'Connecting to ' + filter + '…');
    updateCount();
    const source = new EventSource(url);
    es = source;
    source.addEventListener('open', () => {
      if (es === source) setState('open', 'Connected: showing events on ' + filter + ' as they arrive.');
    });
    const onEvent = (msg) => {
      let ev;
      try { ev = JSON.parse(msg.data); } catch { return; }
      received++;
      list.prepend(eventRow(ev, new Date()));
      while (list.childElementCount > MAX_ROWS) list.lastElementChild.remove();
      updateCount();
    };
    source.addEventListener('shipment.event', onEvent);
    source.addEventListener('message', onEvent);
    source.addEventListener('error', () => {
      if (es !== source) return;
      if (source.readyState === EventSource.CONNECTING) {
        setState('connecting', 'Reconnecting…');
        return;
      }
      es = null;
      diagnose(url);
    });
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = values();
    ctx.push('/live' + query(v), { replace: true });
    start();
    announce('Watching ' + subjectFilter(v));
  });
  stop.addEventListener('click', () => {
    close();
    setState('stopped', 'Stopped. Press Watch to start again.');
  });
  clear.addEventListener('click', () => {
    list.replaceChildren();
    received = 0;
    updateCount();
  });
  ctx.onCleanup(close);

  start();
}
