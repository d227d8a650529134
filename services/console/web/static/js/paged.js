// A filtered list with cursor paging, as the Shipments and Dead letters
// pages show it: a results heading with the count, the table, and a pager
// whose "Next page" keeps the cursor in the URL so Back and reload work.
import { h, announce } from './dom.js';
import { query } from './api.js';
import { num } from './format.js';

export const PAGE = 50;

// pagedList wires one results <section>. fetchPage(params, signal) answers
// {items, next}; renderTable(items) builds the table; noun names the items
// ("shipments"). It returns load(params, cursor) for the first page and
// for a new filter, and fail(err) for errors after the first render.
export function pagedList(ctx, { section, titleId, path, noun, fetchPage, renderTable }) {
  async function load(params, cursor, { focusResults = false } = {}) {
    section.setAttribute('aria-busy', 'true');
    let page;
    try {
      page = await fetchPage({ ...params, limit: PAGE, cursor }, ctx.signal);
    } finally {
      section.removeAttribute('aria-busy');
    }
    const { items, next } = page;
    const counted = `${num(items.length)}${next ? '+' : ''}`;
    const title = h('h2', { id: titleId, tabindex: '-1' },
      items.length === 0 ? `No ${noun} found` : (cursor ? `More ${noun}` : `${noun.charAt(0).toUpperCase()}${noun.slice(1)} found`),
      h('span', { class: 'count' }, ` (${counted})`));
    const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
    if (cursor) pager.append(h('a', { href: path + query(params) }, 'First page'));
    if (next) {
      pager.append(h('button', {
        type: 'button', class: 'next',
        onclick: () => {
          ctx.push(path + query({ ...params, cursor: next }));
          load(params, next, { focusResults: true }).catch(fail);
        },
      }, 'Next page'));
    }
    section.replaceChildren(title, renderTable(items), pager);
    if (focusResults) title.focus();
    announce(items.length === 0 ? `No ${noun} found` : `${items.length}${next ? ' or more' : ''} ${noun} found`);
  }

  function fail(err) {
    if (err.name === 'AbortError') return;
    if (err.name === 'Unauthorized') { ctx.unauthorized(); return; }
    section.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Could not list ${noun}: ` + (err.message || err)));
  }

  return { load, fail };
}
