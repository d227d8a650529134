// Shipment: one parcel's current state and its timeline, oldest first, each
// event at the carrier's own local time and zone, with what waybill had to
// guess (the zone) and what arrived out of order (late) marked in words.
import { h } from '../dom.js';
import { api } from '../api.js';
import { statusBadge, utc, when, place, refsList, wallClock, num } from '../format.js';

const ZONE_SOURCE = {
  offset: 'given by the carrier',
  zip: 'inferred from the ZIP code',
  state: 'inferred from the state',
  country: 'inferred from the country',
  utc: 'unknown, shown in UTC',
};

function meta(pairs) {
  return h('dl', { class: 'meta' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function eventItem(ev) {
  const dateOnly = ev.occurred_at_precision === 'day';
  const local = ev.local_time || wallClock(ev.occurred_at, ev.timezone, dateOnly);
  const zone = ev.timezone || 'UTC';
  const inferred = !!ev.timezone_inferred;
  const src = ZONE_SOURCE[ev.timezone_source] || '';

  const whenLine = h('p', { class: 'event-when' },
    h('time', { class: 'event-local', datetime: ev.occurred_at }, local),
    ' ',
    h('span', { class: 'event-zone' }, zone),
    dateOnly ? h('span', { class: 'tag tag-day' }, 'date only') : null,
    inferred ? h('span', { class: 'tag tag-inferred' }, 'zone ' + (src || 'inferred')) : null,
    ev.late ? h('span', { class: 'tag tag-late' }, 'late: arrived after a later event') : null,
  );
  const where = place(ev.location);
  return h('li', { class: ['event', ev.late && 'is-late', inferred && 'is-inferred'], 'data-event-id': ev.id },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('div', { class: 'event-body' },
      h('h3', { class: 'event-status' }, statusBadge(ev.status),
        ev.substatus ? h('span', { class: 'substatus' }, ev.substatus.replace(/_/g, ' ')) : null),
      whenLine,
      ev.message ? h('p', { class: 'event-message' }, ev.message) : null,
      where ? h('p', { class: 'event-where' }, where) : null,
      meta([
        ['Source', ev.source],
        ['Carrier code', ev.carrier_status ? h('code', { class: 'event-code' }, ev.carrier_status) : null],
        ['UTC', utc(ev.occurred_at)],
        ['Zone', !inferred && src ? `${zone} (${src})` : null],
        ['Received', ev.received_at ? utc(ev.received_at) : null],
        ['Estimated delivery', ev.estimated_delivery],
        ['Raw event', ev.raw_event_id ? h('code', null, ev.raw_event_id) : null],
      ]),
      refsList(ev.references, 'refs event-refs'),
    ));
}

export async function renderShipment(ctx) {
  const [carrier, tracking] = ctx.params;
  ctx.setTitle(tracking);
  // {shipment: {...current state}, events: [...oldest first]}
  const detail = await api.shipment(carrier, tracking, ctx.signal);
  const sh = detail.shipment || {};
  const events = detail.events || [];
  ctx.setTitle(`${sh.tracking_number} (${sh.carrier})`);
  const late = events.filter((e) => e.late).length;
  const inferred = events.filter((e) => e.timezone_inferred).length;

  const header = h('header', { class: 'shipment-head card' },
    h('p', { class: 'crumbs' }, h('a', { href: '/shipments' }, 'Shipments'), ' / ', sh.carrier),
    h('h1', null, h('span', { class: 'visually-hidden' }, 'Shipment '), h('span', { class: 'mono' }, sh.tracking_number)),
    h('p', { class: 'current' }, statusBadge(sh.status), ' ', when(sh.status_at),
      sh.stalled_at ? h('span', { class: 'tag tag-stalled' }, 'stalled since ', when(sh.stalled_at)) : null),
    h('div', { class: 'head-grid' },
      meta([
        ['Carrier', sh.carrier],
        ['Status since', utc(sh.status_at)],
        ['Estimated delivery', sh.estimated_delivery || null],
        ['Delivered', sh.delivered_at ? utc(sh.delivered_at) : null],
        ['First seen', sh.first_seen_at ? utc(sh.first_seen_at) : null],
        ['Events', num(sh.event_count ?? events.length)],
      ]),
      Object.keys(sh.references || {}).length
        ? h('div', null, h('h2', { class: 'refs-title' }, 'References'), refsList(sh.references))
        : null),
  );

  const notes = [];
  if (inferred) notes.push(`${inferred} event${inferred > 1 ? 's' : ''} with an inferred time zone`);
  if (late) notes.push(`${late} late event${late > 1 ? 's' : ''}`);

  ctx.main.replaceChildren(
    header,
    h('section', { 'aria-labelledby': 'timeline-title', class: 'timeline-section' },
      h('h2', { id: 'timeline-title' }, 'Timeline'),
      h('p', { class: 'help' }, 'Oldest first, at the carrier’s local time. ', notes.length ? notes.join(', ') + '.' : ''),
      events.length
        ? h('ol', { class: 'timeline' }, events.map(eventItem))
        : h('p', null, 'No carrier events yet.')),
  );
}
