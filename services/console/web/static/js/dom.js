// Building DOM nodes without innerHTML: every string a page shows comes from
// the API (carrier messages, references, dead-letter bodies) and is
// untrusted, so it only ever becomes a text node.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else if (k === 'style') {
      // The CSP forbids inline styles: fail loudly in development.
      throw new Error('inline style attributes are not allowed; use a class');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

// h('a', {href: '/x', class: 'y'}, 'text', child, [more]) -> HTMLElement.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// s('rect', {width: 3}) -> SVGElement. Geometry goes in presentation
// attributes, which the CSP allows, not in style.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

// field is a labelled form control, label above (help text after it).
export function field(id, label, control, help) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, help);
}

// table({caption, head: ['A', 'B'], rows: [[th-cell, td, td]], rowHeader: true})
// builds a data table; with rowHeader the first cell of each row is a
// <th scope="row">. Cells may be strings, nodes or {node, class}.
export function table({ caption, captionClass, head, rows, rowHeader = true, className, empty }) {
  const t = h('table', { class: className });
  if (caption) t.append(h('caption', { class: captionClass }, caption));
  if (head) {
    t.append(h('thead', null, h('tr', null, head.map((c) =>
      h('th', { scope: 'col', class: c && c.class }, c && c.label !== undefined ? c.label : c)))));
  }
  const body = h('tbody');
  for (const row of rows) {
    const tr = h('tr');
    row.forEach((cell, i) => {
      const isHead = rowHeader && i === 0;
      const c = cell && typeof cell === 'object' && 'node' in cell ? cell : { node: cell };
      const label = head && head[i] !== undefined ? (head[i] && head[i].label !== undefined ? head[i].label : head[i]) : null;
      tr.append(h(isHead ? 'th' : 'td', {
        scope: isHead ? 'row' : null,
        class: c.class,
        // Read by the stacked phone layout (td::before { content: attr(data-label) }).
        'data-label': typeof label === 'string' && label ? label : null,
      }, c.node));
    });
    body.append(tr);
  }
  if (rows.length === 0 && empty) {
    body.append(h('tr', null, h('td', { colspan: head ? head.length : 1, class: 'empty' }, empty)));
  }
  t.append(body);
  return h('div', { class: 'table-wrap' }, t);
}

// announce puts a short message in the page's polite live region, for
// results that do not move focus (a search that finished, a redrive).
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A new text node on the next frame is announced even when the text repeats.
  requestAnimationFrame(() => { region.textContent = text; });
}
