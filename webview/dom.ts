// Tiny element builder. Attributes only (never `style`: the CSP forbids inline style
// attributes; dynamic sizes and colours are set through element.style, which CSP allows).

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: Array<Node | string>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

/** A collapsible panel section with a heading (native <details>: keyboard and screen-reader friendly). */
export function section(id: string, title: string, ...children: Child[]): HTMLDetailsElement {
  return el('details', { class: 'section', id, open: '' }, el('summary', {}, el('h2', {}, title)), ...children);
}

export const fmtNum = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : '–');
