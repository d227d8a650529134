// Overview: what an operator checks first. Shipments by status, traffic in
// the last hour, dead letters, stalled shipments and consumer lag.
import { h, s, table } from '../dom.js';
import { api, query } from '../api.js';
import { STATUSES, statusBadge, statusLabel, num, bytes } from '../format.js';

const REFRESH_MS = 30000;

// toArray accepts a list of objects or a {name: value} map.
function toArray(v, key, valueKey) {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') return Object.entries(v).map(([k, n]) => ({ [key]: k, [valueKey]: n }));
  return [];
}

// normalize reads GET /api/v1/stats. Consumers come nested in their
// streams; ephemeral ones (open live pages, dead-letter reads) are left out
// of the lag table: they come and go and are not pipeline stages.
function normalize(st) {
  const sh = st.shipments || {};
  const streams = toArray(st.streams, 'name', 'messages');
  const consumers = Array.isArray(st.consumers)
    ? st.consumers
    : streams.flatMap((x) => (x.consumers || []).filter((c) => !c.ephemeral).map((c) => ({ ...c, stream: x.name })));
  return {
    byStatus: sh.by_status || {},
    byCarrier: sh.by_carrier || {},
    total: sh.total ?? null,
    stalled: sh.stalled ?? 0,
    streams,
    consumers,
    deadletters: toArray(st.dead_letters || st.deadletters, 'stage', 'messages')
      .map((d) => ({ ...d, count: d.messages ?? d.count ?? 0 })),
    deadlettersTotal: st.dead_letters_total ?? null,
    perMinute: toArray(st.events_per_minute, 'minute', 'events'),
    unavailable: Array.isArray(st.unavailable) ? st.unavailable : [],
    generatedAt: st.generated_at || new Date().toISOString(),
  };
}

// bar is a decorative horizontal bar: the number beside it is the data.
function bar(value, max) {
  const w = max > 0 ? Math.max(value > 0 ? 1 : 0, Math.round((value / max) * 100)) : 0;
  return s('svg', { class: 'bar', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' },
    s('rect', { class: 'bar-bg', x: 0, y: 0, width: 100, height: 10 }),
    s('rect', { class: 'bar-fg', x: 0, y: 0, width: w, height: 10 }));
}

function statusChart(byStatus) {
  // The server lists every status; the chart shows the ones in use.
  const present = Object.keys(byStatus).filter((k) => byStatus[k] > 0);
  const order = [...STATUSES.filter((st) => present.includes(st)), ...present.filter((st) => !STATUSES.includes(st))];
  const max = Math.max(0, ...order.map((k) => byStatus[k] || 0));
  return table({
    caption: 'Shipments by status',
    captionClass: 'visually-hidden',
    className: 'chart-table',
    head: ['Status', { label: 'Shipments', class: 'num' }, { label: h('span', { class: 'visually-hidden' }, 'Share'), class: 'bar-col' }],
    rows: order.map((k) => [
      h('a', { href: '/shipments' + query({ status: k }), 'aria-label': statusLabel(k) + ' shipments' }, statusBadge(k)),
      { node: num(byStatus[k]), class: 'num' },
      { node: bar(byStatus[k] || 0, max), class: 'bar-col' },
    ]),
    empty: 'No shipments yet.',
  });
}

// perMinuteChart draws the last 60 minutes as columns, minutes without
// events at zero, with the numbers in a table under a disclosure.
function perMinuteChart(points) {
  const counts = new Map();
  for (const p of points) {
    const t = new Date(p.minute || p.time || p.at);
    if (!Number.isNaN(t.getTime())) counts.set(Math.floor(t.getTime() / 60000), p.events ?? p.count ?? 0);
  }
  const nowMin = Math.floor(Date.now() / 60000);
  let last = nowMin;
  for (const k of counts.keys()) last = Math.max(last, k);
  const minutes = [];
  for (let m = last - 59; m <= last; m++) minutes.push({ m, n: counts.get(m) || 0 });
  const total = minutes.reduce((a, b) => a + b.n, 0);
  const max = Math.max(0, ...minutes.map((x) => x.n));
  const W = 600, H = 120, colW = W / 60;
  const svg = s('svg', {
    class: 'columns', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `${num(total)} events in the last hour; busiest minute ${num(max)}.`,
  });
  svg.append(s('line', { class: 'axis', x1: 0, y1: H, x2: W, y2: H }));
  minutes.forEach((x, i) => {
    const hgt = max > 0 ? Math.max(x.n > 0 ? 2 : 0, (x.n / max) * (H - 14)) : 0;
    svg.append(s('rect', { class: 'col', x: i * colW + 1, y: H - hgt, width: colW - 2, height: hgt },
      s('title', null, `${hhmm(x.m)} UTC: ${x.n}`)));
  });
  const nonzero = minutes.filter((x) => x.n > 0);
  return h('figure', { class: 'chart' },
    h('figcaption', null, `Events per minute, last hour (${num(total)} in all)`),
    svg,
    h('p', { class: 'axis-labels', 'aria-hidden': 'true' },
      h('span', null, hhmm(minutes[0].m) + ' UTC'), h('span', null, 'max ' + num(max) + '/min'), h('span', null, hhmm(last) + ' UTC')),
    h('details', null,
      h('summary', null, 'Show as a table'),
      table({
        caption: 'Events per minute (UTC), minutes with events',
        head: ['Minute', { label: 'Events', class: 'num' }],
        rows: nonzero.map((x) => [hhmm(x.m), { node: num(x.n), class: 'num' }]),
        empty: 'No events in the last hour.',
      })));
}

function hhmm(minute) {
  return new Date(minute * 60000).toISOString().slice(11, 16);
}

function tile(label, value, href, tone) {
  const body = [h('span', { class: 'tile-value' }, value), h('span', { class: 'tile-label' }, label)];
  return h('li', { class: ['tile', tone && 'tone-' + tone] }, href ? h('a', { href }, body) : body);
}

export async function renderOverview(ctx) {
  ctx.setTitle('Overview');
  const stats = normalize(await api.stats(ctx.signal));
  draw(ctx, stats);
  const timer = setInterval(async () => {
    // Redrawing would drop keyboard focus or close the open table: skip
    // this tick while someone is working inside the page.
    const active = document.activeElement;
    if ((active && active !== document.body && ctx.main.contains(active) && active.tagName !== 'H1') ||
        ctx.main.querySelector('details[open]')) return;
    try {
      draw(ctx, normalize(await api.stats(ctx.signal)));
    } catch (err) {
      if (err.name === 'Unauthorized') ctx.unauthorized();
      // Otherwise keep the last numbers; the next tick tries again.
    }
  }, REFRESH_MS);
  ctx.onCleanup(() => clearInterval(timer));
}

function draw(ctx, st) {
  const total = st.total ?? Object.values(st.byStatus).reduce((a, b) => a + (b || 0), 0);
  const dlTotal = st.deadlettersTotal ?? st.deadletters.reduce((a, d) => a + (d.count || 0), 0);
  const maxLag = Math.max(0, ...st.consumers.map((c) => c.pending ?? c.num_pending ?? 0));
  const carriers = Object.entries(st.byCarrier).sort((a, b) => b[1] - a[1]);

  const content = [
    h('h1', null, 'Overview'),
    h('p', { class: 'updated' }, 'Updated ', h('time', { datetime: st.generatedAt }, new Date(st.generatedAt).toLocaleTimeString()),
      ' · refreshes every 30 s'),
    st.unavailable.length
      ? h('p', { class: 'warning', role: 'alert' }, 'Could not read ', st.unavailable.join(' and '),
        ': the numbers that depend on it are missing or old.')
      : null,
    h('ul', { class: 'tiles', 'aria-label': 'Summary' },
      tile('shipments', num(total), '/shipments'),
      tile('stalled', num(st.stalled), null, st.stalled > 0 ? 'warn' : null),
      tile('dead letters', num(dlTotal), '/deadletters', dlTotal > 0 ? 'bad' : null),
      tile('max consumer pending', num(maxLag), null, maxLag > 1000 ? 'warn' : null)),
    h('div', { class: 'grid' },
      h('section', { 'aria-labelledby': 'ov-status', class: 'card' },
        h('h2', { id: 'ov-status' }, 'Shipments by status'),
        statusChart(st.byStatus)),
      h('section', { 'aria-labelledby': 'ov-rate', class: 'card' },
        h('h2', { id: 'ov-rate' }, 'Events per minute'),
        perMinuteChart(st.perMinute)),
      h('section', { 'aria-labelledby': 'ov-dl', class: 'card' },
        h('h2', { id: 'ov-dl' }, 'Dead letters'),
        table({
          caption: 'Dead letters by stage and source',
          captionClass: 'visually-hidden',
          head: ['Stage', 'Source', { label: 'Count', class: 'num' }],
          rows: st.deadletters.map((d) => [
            h('a', { href: '/deadletters' + query({ stage: d.stage, source: d.source }) }, d.stage || '–'),
            d.source || '–',
            { node: num(d.count), class: 'num' },
          ]),
          empty: 'No dead letters.',
        })),
      h('section', { 'aria-labelledby': 'ov-lag', class: 'card' },
        h('h2', { id: 'ov-lag' }, 'Consumer lag'),
        table({
          caption: 'Pending and unacknowledged messages per consumer',
          captionClass: 'visually-hidden',
          head: ['Consumer', 'Stream', { label: 'Pending', class: 'num' }, { label: 'Ack pending', class: 'num' }],
          rows: st.consumers.map((c) => [
            c.name || c.consumer || '–', c.stream || '–',
            { node: num(c.pending ?? c.num_pending), class: 'num' },
            { node: num(c.ack_pending ?? c.num_ack_pending), class: 'num' },
          ]),
          empty: 'No consumers.',
        })),
      h('section', { 'aria-labelledby': 'ov-carrier', class: 'card' },
        h('h2', { id: 'ov-carrier' }, 'Shipments by carrier'),
        table({
          caption: 'Shipments by carrier',
          captionClass: 'visually-hidden',
          head: ['Carrier', { label: 'Shipments', class: 'num' }],
          rows: carriers.map(([c, n]) => [h('a', { href: '/shipments' + query({ carrier: c }) }, c), { node: num(n), class: 'num' }]),
          empty: 'No shipments yet.',
        })),
      h('section', { 'aria-labelledby': 'ov-streams', class: 'card' },
        h('h2', { id: 'ov-streams' }, 'Streams'),
        table({
          caption: 'Messages and bytes per stream',
          captionClass: 'visually-hidden',
          head: ['Stream', { label: 'Messages', class: 'num' }, { label: 'Size', class: 'num' }],
          rows: st.streams.map((x) => [x.name || '–', { node: num(x.messages), class: 'num' }, { node: bytes(x.bytes), class: 'num' }]),
          empty: 'No streams.',
        }))),
  ];
  ctx.main.replaceChildren(...content.filter(Boolean)); // replaceChildren(null) would print "null"
}
