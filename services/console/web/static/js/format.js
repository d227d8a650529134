// Formatting of statuses, times and sizes, shared by the pages.
import { h } from './dom.js';

// The status taxonomy of DESIGN.md in lifecycle order.
export const STATUSES = [
  'pending', 'info_received', 'in_transit', 'out_for_delivery', 'available_for_pickup',
  'failed_attempt', 'exception', 'return_to_sender', 'delivered', 'returned', 'failed',
  'cancelled', 'expired', 'unknown',
];

// Carrier codes tracking.NormalizeCarrier knows; others still work typed in.
export const CARRIERS = ['usps', 'ups', 'fedex', 'dhl', 'ontrac', 'lasership', 'aramex', 'royal-mail', 'canada-post'];

const TONE = {
  delivered: 'ok',
  out_for_delivery: 'progress', in_transit: 'progress', info_received: 'progress', available_for_pickup: 'progress',
  failed_attempt: 'warn', exception: 'warn', return_to_sender: 'warn',
  returned: 'bad', failed: 'bad', cancelled: 'bad', expired: 'bad',
};

export function statusLabel(status) {
  if (!status) return 'Unknown';
  const t = String(status).replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export function statusBadge(status) {
  return h('span', { class: ['badge', 'tone-' + (TONE[status] || 'neutral')] }, statusLabel(status));
}

const nf = new Intl.NumberFormat('en');
export function num(n) {
  return typeof n === 'number' && Number.isFinite(n) ? nf.format(n) : '0';
}

export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

function parse(ts) {
  if (!ts) return null;
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

// utc renders an instant as "2024-03-01 19:05:00 UTC" in a <time>.
export function utc(ts) {
  const d = parse(ts);
  if (!d) return ts ? String(ts) : '–';
  const text = d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace('Z', ' UTC');
  return h('time', { datetime: d.toISOString() }, text);
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
export function relative(ts, now = Date.now()) {
  const d = parse(ts);
  if (!d) return '–';
  let secs = Math.round((d.getTime() - now) / 1000);
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [30, 'day'], [12, 'month'], [Infinity, 'year']];
  for (const [size, unit] of steps) {
    if (Math.abs(secs) < size) return rtf.format(secs, unit);
    secs = Math.round(secs / size);
  }
  return d.toISOString();
}

// when shows a relative age with the exact instant in the datetime
// attribute and as a tooltip.
export function when(ts) {
  const d = parse(ts);
  if (!d) return '–';
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, relative(ts));
}

// wallClock renders an instant in an IANA zone or fixed offset, for events
// that came without the carrier's own local text.
export function wallClock(ts, zone, dateOnly) {
  const d = parse(ts);
  if (!d) return '';
  const opts = { year: 'numeric', month: '2-digit', day: '2-digit', hourCycle: 'h23' };
  if (!dateOnly) Object.assign(opts, { hour: '2-digit', minute: '2-digit' });
  try {
    return new Intl.DateTimeFormat('en-CA', { ...opts, timeZone: zone || 'UTC' }).format(d).replace(',', '');
  } catch {
    return new Intl.DateTimeFormat('en-CA', { ...opts, timeZone: 'UTC' }).format(d).replace(',', '');
  }
}

export function place(loc) {
  if (!loc) return '';
  const cityState = [loc.city, loc.state].filter(Boolean).join(', ');
  return [cityState, loc.postal_code, loc.country].filter(Boolean).join(' ');
}

// refsList renders references as name: value pairs; values link to a search,
// which is how support finds the other parcels of one order or device.
export function refsList(refs, className = 'refs') {
  const entries = Object.entries(refs || {});
  if (entries.length === 0) return null;
  return h('dl', { class: className }, entries.flatMap(([k, v]) => [
    h('dt', null, k),
    h('dd', null, h('a', { href: '/shipments?q=' + encodeURIComponent(v) }, v)),
  ]));
}
