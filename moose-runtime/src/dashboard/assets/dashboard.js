// The moose dev dashboard: polls `stats` once per second, draws the pipeline as an SVG
// graph laid out in columns by depth, and shows the latest records of the stream or table
// the user clicks (`peek/<name>`). No libraries, nothing fetched from elsewhere.
'use strict';

/** How often `/stats` is read. */
const POLL_MS = 1000;
/** Records shown for a clicked stream or table. */
const PEEK_ROWS = 20;

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Node sizes and gaps, in SVG units (the drawing scales to the page width). */
const LAYOUT = {
  /** A column is as wide as its longest name needs, within these bounds. */
  minNodeWidth: 136,
  maxNodeWidth: 210,
  /** Room left and right of a node's text. */
  textPad: 22,
  nodeHeight: 78,
  columnGap: 62,
  rowGap: 24,
  pad: 14,
};

/** The leftmost column each kind may take: routes first, then streams, then the rest. */
const MIN_DEPTH = { route: 0, stream: 1, dlq: 1, transform: 2, consumer: 2, table: 2 };

/** What each kind of node says above its name. */
const KIND_TAG = {
  route: 'INGEST API',
  stream: 'STREAM',
  dlq: 'DEAD-LETTER QUEUE',
  transform: 'TRANSFORM',
  consumer: 'CONSUMER',
  table: 'TABLE',
};

const state = {
  /** The previous snapshot, for rates. */
  previous: null,
  /** The latest snapshot. */
  current: null,
  /** The node ids and edges drawn, to redraw only when the pipeline changes. */
  shape: '',
  /** `{kind, name}` of the clicked stream or table. */
  selected: null,
  peekInFlight: false,
  lastPeek: '',
};

// ---------------------------------------------------------------------------------------
// Numbers

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A count as people read it: 1,234,567. */
function count(n) {
  return n === null || n === undefined ? '–' : integer.format(n);
}

/** A rate in records/s, short enough for an edge label. */
function rate(r) {
  if (r === null || r === undefined) return '–/s';
  if (r === 0) return '0/s';
  if (r < 10) return r.toFixed(1) + '/s';
  if (r < 1000) return Math.round(r) + '/s';
  if (r < 1e6) return (r / 1000).toFixed(r < 1e4 ? 1 : 0) + 'k/s';
  return (r / 1e6).toFixed(1) + 'M/s';
}

/** A count short enough for an edge label: 950, 12.3k, 4.1M. */
function short(n) {
  if (n < 1000) return String(n);
  if (n < 1e6) return (n / 1000).toFixed(n < 1e4 ? 1 : 0) + 'k';
  return (n / 1e6).toFixed(1) + 'M';
}

/** A count for a line that holds two: exact below 10,000, short above. */
function compact(n) {
  return typeof n === 'number' && n >= 10000 ? short(n) : count(n);
}

function plural(n, one, many) {
  return count(n) + ' ' + (n === 1 ? one : many);
}

function duration(secs) {
  const s = Math.floor(secs);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  const h = Math.floor(s / 3600);
  return h + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

/**
 * Records/s of a counter between the previous snapshot and this one; null before the
 * second snapshot or when the counter went back (the app restarted).
 */
function rateOf(pick) {
  const { previous, current } = state;
  if (!previous || !current) return null;
  const seconds = (current.taken_at_ms - previous.taken_at_ms) / 1000;
  const now = pick(current);
  const before = pick(previous);
  if (!(seconds > 0) || typeof now !== 'number' || typeof before !== 'number' || now < before) {
    return null;
  }
  return (now - before) / seconds;
}

function sum(list, field) {
  return (list || []).reduce((total, item) => total + (Number(item[field]) || 0), 0);
}

// ---------------------------------------------------------------------------------------
// The graph: nodes and edges from a snapshot

/**
 * Nodes (routes, streams, transforms, consumers, tables; dead-letter streams as their own
 * kind) and edges, each edge with a `value(snapshot)` counter for its rate and its lag.
 */
function pipeline(stats) {
  const nodes = new Map();
  const edges = [];
  const node = (id, kind, name, fields) => {
    if (!nodes.has(id)) nodes.set(id, { id, kind, name, ...fields });
    return nodes.get(id);
  };
  const stream = (name) =>
    nodes.get('stream:' + name) ||
    node('stream:' + name, 'stream', name, { value: () => null, detail: () => null });
  const find = (list, key, value) => (s) => (s[list] || []).find((item) => item[key] === value);

  for (const s of stats.streams || []) {
    const get = find('streams', 'name', s.name);
    node('stream:' + s.name, s.dead_letter_queue ? 'dlq' : 'stream', s.name, {
      value: (snap) => get(snap)?.records,
      detail: (snap) => get(snap),
      clickable: true,
    });
  }
  for (const r of stats.routes || []) {
    const get = find('routes', 'path', r.path);
    const id = 'route:' + r.path;
    node(id, 'route', r.path, { value: (snap) => get(snap)?.records, detail: (snap) => get(snap) });
    const to = stream(r.stream);
    edges.push({ from: id, to: to.id, value: (snap) => get(snap)?.records, lag: () => null });
  }
  const deadLetters = (id, item, field, get) => {
    if (!item.dead_letter_queue) return;
    const to = stream(item.dead_letter_queue);
    edges.push({
      from: id,
      to: to.id,
      dead: true,
      value: (snap) => get(snap)?.[field],
      lag: () => null,
    });
  };
  for (const t of stats.transforms || []) {
    const get = find('transforms', 'label', t.label);
    const id = 'transform:' + t.label;
    node(id, 'transform', t.label, { value: (snap) => get(snap)?.records_in, detail: (snap) => get(snap) });
    edges.push({
      from: stream(t.from).id,
      to: id,
      value: (snap) => get(snap)?.records_in,
      lag: (snap) => get(snap)?.lag,
    });
    const targets = t.to || [];
    for (const target of targets) {
      // records_out is one counter over all targets: per-target rates exist only for one.
      edges.push({
        from: id,
        to: stream(target).id,
        value: targets.length === 1 ? (snap) => get(snap)?.records_out : () => null,
        lag: () => null,
      });
    }
    deadLetters(id, t, 'dead_letters', get);
  }
  for (const c of stats.consumers || []) {
    const get = find('consumers', 'label', c.label);
    const id = 'consumer:' + c.label;
    node(id, 'consumer', c.label, { value: (snap) => get(snap)?.records_in, detail: (snap) => get(snap) });
    edges.push({
      from: stream(c.stream).id,
      to: id,
      value: (snap) => get(snap)?.records_in,
      lag: (snap) => get(snap)?.lag,
    });
    deadLetters(id, c, 'dead_letters', get);
  }
  for (const y of stats.syncs || []) {
    const get = (snap) =>
      (snap.syncs || []).find((item) => item.stream === y.stream && item.table === y.table);
    const id = 'table:' + y.table;
    node(id, 'table', y.table, {
      value: (snap) => get(snap)?.rows,
      detail: (snap) => get(snap),
      clickable: true,
    });
    edges.push({
      from: stream(y.stream).id,
      to: id,
      value: (snap) => get(snap)?.rows,
      lag: (snap) => get(snap)?.lag,
    });
    deadLetters(id, y, 'rows_rejected', get);
  }
  edges.forEach((e) => (e.id = e.from + '->' + e.to));
  return { nodes, edges };
}

/**
 * Columns by depth: a node sits one column right of its furthest predecessor (and no
 * further left than its kind's column); within a column, nodes follow their predecessors'
 * order, dead-letter queues last.
 */
function layout(graph, measure) {
  const { nodes, edges } = graph;
  const depth = new Map();
  for (const n of nodes.values()) depth.set(n.id, MIN_DEPTH[n.kind] ?? 0);
  // Longest path, bounded so a cycle cannot loop forever.
  for (let round = 0; round < nodes.size; round++) {
    let moved = false;
    for (const e of edges) {
      const d = depth.get(e.from) + 1;
      if (d > depth.get(e.to)) {
        depth.set(e.to, d);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const columns = [];
  for (const n of nodes.values()) {
    const d = depth.get(n.id);
    (columns[d] = columns[d] || []).push(n);
  }
  const row = new Map();
  const { minNodeWidth, maxNodeWidth, textPad, nodeHeight, columnGap, rowGap, pad } = LAYOUT;
  const filled = columns.map((c) => c || []);
  filled.forEach((column) => {
    const rank = (n) => {
      const from = edges.filter((e) => e.to === n.id && row.has(e.from)).map((e) => row.get(e.from));
      return from.length ? from.reduce((a, b) => a + b, 0) / from.length : Infinity;
    };
    column.sort(
      (a, b) =>
        (a.kind === 'dlq') - (b.kind === 'dlq') ||
        rank(a) - rank(b) ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    column.forEach((n, i) => row.set(n.id, i));
  });
  const tallest = Math.max(1, ...filled.map((c) => c.length));
  const height = pad * 2 + tallest * nodeHeight + (tallest - 1) * rowGap;
  let x = pad;
  filled.forEach((column) => {
    const needed = Math.max(0, ...column.map((n) => measure(n) + textPad));
    const w = Math.ceil(Math.min(maxNodeWidth, Math.max(minNodeWidth, needed)));
    const used = column.length * nodeHeight + Math.max(0, column.length - 1) * rowGap;
    const top = (height - used) / 2;
    column.forEach((n, i) => {
      n.x = x;
      n.y = top + i * (nodeHeight + rowGap);
      n.w = w;
    });
    x += w + columnGap;
  });
  return { width: Math.max(x - columnGap + pad, minNodeWidth + pad * 2), height };
}

// ---------------------------------------------------------------------------------------
// Drawing

function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

/** Sets `el`'s text to `text`, cut with an ellipsis where it would overflow `width`. */
function fitText(el, text, width) {
  if (el.dataset.shown === text) return;
  el.dataset.shown = text;
  el.textContent = text;
  if (el.getComputedTextLength() <= width) return;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    el.textContent = text.slice(0, mid) + '…';
    if (el.getComputedTextLength() <= width) lo = mid;
    else hi = mid - 1;
  }
  el.textContent = text.slice(0, Math.max(1, lo)) + '…';
}

function draw(graph) {
  const container = document.getElementById('graph');
  container.textContent = '';
  const root = svg('svg', { role: 'img', 'aria-label': 'pipeline graph' });
  container.appendChild(root);
  // Widths of names and tags as the page's style draws them, to size the columns.
  const probe = svg('g', { class: 'node' }, root);
  const probeName = svg('text', { class: 'name' }, probe);
  const probeTag = svg('text', { class: 'tag' }, probe);
  const probeCount = svg('text', { class: 'count' }, probe);
  const measure = (n) => {
    probeName.textContent = displayName(n);
    probeTag.textContent = KIND_TAG[n.kind] + (n.kind === 'table' ? ' · ClickHouse' : '');
    // A transform's counts line holds two numbers: room for two of up to five digits.
    probeCount.textContent = n.kind === 'transform' ? '99,999 in · 99,999 out' : '';
    return Math.max(
      probeName.getComputedTextLength(),
      probeTag.getComputedTextLength(),
      probeCount.getComputedTextLength(),
    );
  };
  const box = layout(graph, measure);
  probe.remove();
  root.setAttribute('viewBox', `0 0 ${box.width} ${box.height}`);
  root.setAttribute('width', box.width);
  root.setAttribute('height', box.height);
  const defs = svg('defs', {}, root);
  for (const [id, cls] of [['arrow', 'arrow'], ['arrow-dead', 'arrow dead']]) {
    const marker = svg('marker', {
      id,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    }, defs);
    svg('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }, marker);
  }
  const { nodeHeight: h } = LAYOUT;
  const edgeLayer = svg('g', { class: 'edges' }, root);
  const labelLayer = svg('g', { class: 'edge-labels' });
  for (const e of graph.edges) {
    const a = graph.nodes.get(e.from);
    const b = graph.nodes.get(e.to);
    const x1 = a.x + a.w;
    const y1 = a.y + h / 2;
    const x2 = b.x - 2;
    const y2 = b.y + h / 2;
    let curve;
    if (x2 > x1) {
      const bend = Math.max(30, Math.min(LAYOUT.columnGap, (x2 - x1) / 2));
      curve = [[x1, y1], [x1 + bend, y1], [x2 - bend, y2], [x2, y2]];
    } else {
      // Backwards (a cycle or a dead-letter queue to the left): around below.
      const below = Math.max(a.y, b.y) + h + 18;
      curve = [[x1, y1], [x1 + 60, below], [x2 - 60, below], [x2, y2]];
    }
    const [p0, p1, p2, p3] = curve;
    const d = `M${p0} C${p1} ${p2} ${p3}`;
    const g = svg('g', { class: 'edge' + (e.dead ? ' dead' : ''), 'data-edge': e.id }, edgeLayer);
    svg('path', { d, class: 'wire' }, g);
    svg('path', {
      d,
      class: 'flow',
      'marker-end': `url(#${e.dead ? 'arrow-dead' : 'arrow'})`,
    }, g);
    svg('title', {}, g).textContent = `${a.name} → ${b.name}`;
    // Labels sit in the gap after the source node, where no other node is drawn.
    const [lx, ly] = x2 > x1 ? pointAtX(curve, x1 + LAYOUT.columnGap / 2) : bezier(curve, 0.5);
    const label = svg('g', { class: 'edge-label', 'data-edge': e.id, transform: `translate(${lx},${ly})` }, labelLayer);
    svg('rect', { class: 'pill', x: -27, y: -19, width: 54, height: 16, rx: 8 }, label);
    svg('text', { class: 'rate', x: 0, y: -7, 'text-anchor': 'middle' }, label);
    svg('rect', { class: 'pill lag-pill', x: -27, y: 3, width: 54, height: 16, rx: 8 }, label);
    svg('text', { class: 'lag', x: 0, y: 15, 'text-anchor': 'middle' }, label);
  }
  const nodeLayer = svg('g', { class: 'nodes' }, root);
  for (const n of graph.nodes.values()) {
    const g = svg('g', {
      class: `node k-${n.kind}` + (n.clickable ? ' clickable' : ''),
      'data-kind': n.kind === 'dlq' ? 'stream' : n.kind,
      'data-name': n.name,
      'data-key': n.id,
      transform: `translate(${n.x},${n.y})`,
    }, nodeLayer);
    if (n.clickable) {
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.setAttribute('aria-label', `show the latest records of ${n.kind === 'table' ? 'table' : 'stream'} ${n.name}`);
      const kind = n.kind === 'table' ? 'table' : 'stream';
      g.addEventListener('click', () => select(kind, n.name));
      g.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          select(kind, n.name);
        }
      });
    }
    const w = n.w;
    svg('rect', { class: 'box', width: w, height: h, rx: 9 }, g);
    svg('rect', { class: 'band', width: 5, height: h - 2, x: 1, y: 1, rx: 2 }, g);
    svg('text', { class: 'tag', x: 14, y: 17 }, g);
    const name = svg('text', { class: 'name', x: 14, y: 36 }, g);
    svg('text', { class: 'count', x: 14, y: 54 }, g);
    svg('text', { class: 'more', x: 14, y: 70 }, g);
    svg('title', {}, g).textContent = n.name;
    name.dataset.full = displayName(n);
  }
  root.appendChild(labelLayer);
  // Names are cut to their box once drawn, when their width can be measured.
  for (const n of graph.nodes.values()) {
    const el = root.querySelector(`g.node[data-key="${CSS.escape(n.id)}"] .name`);
    if (el) fitText(el, el.dataset.full, n.w - LAYOUT.textPad);
  }
  highlightSelection();
}

/** The point at `t` (0..1) of a cubic Bézier curve given by its four points. */
function bezier([p0, p1, p2, p3], t) {
  const u = 1 - t;
  const at = (i) => u * u * u * p0[i] + 3 * u * u * t * p1[i] + 3 * u * t * t * p2[i] + t * t * t * p3[i];
  return [at(0), at(1)];
}

/** The point of a left-to-right curve at `x` (its x grows with t). */
function pointAtX(curve, x) {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (bezier(curve, mid)[0] < x) lo = mid;
    else hi = mid;
  }
  return bezier(curve, (lo + hi) / 2);
}

/**
 * What a node is called in the drawing. A transform by where it writes (its label is
 * `from->to`, and the edge coming in already shows `from`).
 */
function displayName(n) {
  if (n.kind === 'transform') {
    const arrow = n.name.indexOf('->');
    return arrow > 0 ? '→ ' + n.name.slice(arrow + 2).split(',').join(', ') : n.name;
  }
  return n.name;
}

/** Writes the numbers of this snapshot into the drawn graph. */
function update(graph) {
  const root = document.querySelector('#graph svg');
  if (!root) return;
  const snap = state.current;
  for (const n of graph.nodes.values()) {
    const g = root.querySelector(`g.node[data-key="${CSS.escape(n.id)}"]`);
    if (!g) continue;
    const detail = n.detail(snap) || {};
    const [tag, line, more, trouble] = nodeText(n, detail);
    const inner = n.w - LAYOUT.textPad;
    fitText(g.querySelector('.tag'), tag, inner);
    fitText(g.querySelector('.count'), line, inner);
    fitText(g.querySelector('.more'), more, inner);
    g.classList.toggle('trouble', Boolean(trouble));
    const value = n.value(snap);
    if (typeof value === 'number') g.setAttribute('data-count', value);
    g.querySelector('title').textContent = tooltip(n, detail);
  }
  for (const e of graph.edges) {
    const r = rateOf(e.value);
    const lag = e.lag(snap);
    const edge = root.querySelector(`g.edge[data-edge="${CSS.escape(e.id)}"]`);
    const label = root.querySelector(`g.edge-label[data-edge="${CSS.escape(e.id)}"]`);
    if (!edge || !label) continue;
    edge.classList.toggle('flowing', r !== null && r > 0);
    const width = r > 0 ? Math.min(6, 1.6 + Math.log10(1 + r)) : 1.6;
    edge.querySelector('.flow').setAttribute('stroke-width', width.toFixed(2));
    label.querySelector('.rate').textContent = e.value(snap) === null ? '' : rate(r);
    label.querySelector('.pill').classList.toggle('hidden', e.value(snap) === null);
    const lagText = label.querySelector('.lag');
    const hasLag = typeof lag === 'number';
    lagText.textContent = hasLag ? 'lag ' + short(lag) : '';
    label.querySelector('.lag-pill').classList.toggle('hidden', !hasLag);
    label.classList.toggle('lagging', hasLag && lag > 0);
  }
}

/**
 * A node's tag, its main count, a second line, and whether something is wrong there (the
 * second line then says what, in red).
 */
function nodeText(n, d) {
  const partitions = (p) => (p ? plural(p, 'partition', 'partitions') : '');
  switch (n.kind) {
    case 'route':
      return [
        KIND_TAG.route,
        plural(d.records ?? 0, 'record', 'records'),
        d.refused > 0
          ? `${plural(d.refused, 'request', 'requests')} refused`
          : plural(d.requests ?? 0, 'request', 'requests'),
        d.refused > 0,
      ];
    case 'stream':
      return [KIND_TAG.stream, plural(d.records ?? 0, 'record', 'records'), partitions(d.partitions), false];
    case 'dlq':
      return [KIND_TAG.dlq, plural(d.records ?? 0, 'dead letter', 'dead letters'), partitions(d.partitions), d.records > 0];
    case 'transform':
    case 'consumer': {
      const io = n.kind === 'transform'
        ? `${compact(d.records_in)} in · ${compact(d.records_out)} out`
        : plural(d.records_in ?? 0, 'record', 'records');
      const errors = d.errors || 0;
      const dead = d.dead_letters || 0;
      const trouble = errors > 0 || dead > 0;
      const more = trouble
        ? `${plural(errors, 'error', 'errors')} · ${count(dead)} dead`
        : 'no errors';
      return [KIND_TAG[n.kind], io, more, trouble];
    }
    case 'table': {
      const failures = d.insert_failures || 0;
      const rejected = d.rows_rejected || 0;
      const trouble = failures > 0 || rejected > 0;
      const more = trouble
        ? [failures && plural(failures, 'failed insert', 'failed inserts'), rejected && `${count(rejected)} rejected`].filter(Boolean).join(' · ')
        : plural(d.batches ?? 0, 'insert', 'inserts');
      return [KIND_TAG.table + ' · ClickHouse', plural(d.rows ?? 0, 'row', 'rows'), more, trouble];
    }
    default:
      return [n.kind, '', '', false];
  }
}

function tooltip(n, d) {
  const lines = [n.name];
  for (const [k, v] of Object.entries(d)) {
    if (v !== null && typeof v !== 'object') lines.push(`${k}: ${v}`);
  }
  if (n.clickable) lines.push('', 'click to see the latest records');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------
// Header, totals, status

function text(id, value) {
  const el = document.getElementById(id);
  if (el.textContent !== value) el.textContent = value;
}

function card(id, value, sub, trouble) {
  const el = document.getElementById(id);
  el.querySelector('.value').textContent = value;
  if (sub !== undefined) el.querySelector('.rate').textContent = sub;
  el.classList.toggle('trouble', Boolean(trouble));
}

function header(s) {
  text('fact-backend', s.backend || '–');
  const ch = s.clickhouse || {};
  text('fact-clickhouse', [ch.database, ch.version && 'v' + ch.version].filter(Boolean).join(' · ') || '–');
  document.getElementById('fact-clickhouse').title = ch.url || '';
  text('fact-uptime', typeof s.uptime_secs === 'number' ? duration(s.uptime_secs) : '–');
  text('fact-version', s.version || '–');

  const routes = s.routes || [];
  const syncs = s.syncs || [];
  const workers = [...(s.transforms || []), ...(s.consumers || []), ...syncs];
  card('total-ingested', count(sum(routes, 'records')), rate(rateOf((x) => sum(x.routes, 'records'))));
  card('total-rows', count(sum(syncs, 'rows')), rate(rateOf((x) => sum(x.syncs, 'rows'))));
  const lag = sum(workers, 'lag');
  card('total-lag', count(lag), undefined, false);
  document.getElementById('total-lag').classList.toggle('warn', lag > 0);
  const errors = sum(s.transforms, 'errors') + sum(s.consumers, 'errors') + sum(syncs, 'insert_failures');
  const refused = sum(routes, 'refused');
  card('total-errors', count(errors), refused ? `${count(refused)} requests refused` : 'in transforms, consumers, inserts', errors > 0);
  const dead = sum(s.transforms, 'dead_letters') + sum(s.consumers, 'dead_letters') + sum(syncs, 'rows_rejected');
  card('total-dead', count(dead), rate(rateOf((x) => sum(x.transforms, 'dead_letters') + sum(x.consumers, 'dead_letters') + sum(x.syncs, 'rows_rejected'))), dead > 0);

  const ready = s.ready || { ready: true, reasons: [] };
  const notice = document.getElementById('notice');
  if (ready.ready) {
    setStatus('live', 'live');
    notice.hidden = true;
  } else {
    setStatus('degraded', 'not ready');
    notice.hidden = false;
    notice.textContent = 'Not ready: ' + ((ready.reasons || []).join(' ') || 'starting');
  }
}

function setStatus(kind, message) {
  const el = document.getElementById('status');
  el.dataset.state = kind;
  text('status-text', message);
}

// ---------------------------------------------------------------------------------------
// Latest records of the clicked stream or table

function select(kind, name) {
  state.selected = { kind, name };
  state.lastPeek = '';
  highlightSelection();
  text('records-title', name);
  // A stream's peek is its newest records; a table's is rows in ClickHouse's own order.
  const what = kind === 'table' ? `${PEEK_ROWS} rows` : `latest ${PEEK_ROWS} records`;
  text('records-hint', `${kind} · ${what} · refreshed every second`);
  document.getElementById('records-body').textContent = '';
  peek();
}

function highlightSelection() {
  const sel = state.selected;
  document.querySelectorAll('#graph g.node').forEach((g) => {
    const kind = g.classList.contains('k-table') ? 'table' : 'stream';
    g.classList.toggle('selected', Boolean(sel && g.dataset.name === sel.name && kind === sel.kind && g.classList.contains('clickable')));
  });
}

async function peek() {
  const sel = state.selected;
  if (!sel || state.peekInFlight) return;
  state.peekInFlight = true;
  try {
    const res = await fetch(`peek/${encodeURIComponent(sel.name)}?n=${PEEK_ROWS}`, { cache: 'no-store' });
    const body = await res.json().catch(() => null);
    if (state.selected !== sel) return;
    if (!res.ok) {
      showRecordsError(body && body.error ? body.error : `peek answered HTTP ${res.status}`);
      return;
    }
    const records = Array.isArray(body) ? body : body.rows || body.records || [];
    const key = JSON.stringify(records);
    if (key === state.lastPeek) return;
    state.lastPeek = key;
    showRecords(records, sel);
  } catch (e) {
    if (state.selected === sel) showRecordsError(`cannot reach peek: ${e.message}`);
  } finally {
    state.peekInFlight = false;
  }
}

function showRecordsError(message) {
  state.lastPeek = '';
  const body = document.getElementById('records-body');
  body.textContent = '';
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = message;
  body.appendChild(p);
}

function cell(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function showRecords(records, sel) {
  const body = document.getElementById('records-body');
  body.textContent = '';
  if (records.length === 0) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = `${sel.name} has no ${sel.kind === 'table' ? 'rows' : 'records'} yet: post some to an ingest route.`;
    body.appendChild(p);
    return;
  }
  const columns = [];
  for (const r of records) {
    if (r && typeof r === 'object' && !Array.isArray(r)) {
      for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
    }
  }
  // Rows come as JSON objects whose keys may be sorted by name: an `id` reads best first.
  if (columns.includes('id')) columns.unshift(...columns.splice(columns.indexOf('id'), 1));
  const table = document.createElement('table');
  table.className = 'records';
  table.dataset.name = sel.name;
  table.dataset.kind = sel.kind;
  const head = table.createTHead().insertRow();
  for (const c of columns.length ? columns : ['value']) {
    const th = document.createElement('th');
    th.textContent = c;
    head.appendChild(th);
  }
  const tbody = table.createTBody();
  for (const r of records) {
    const tr = tbody.insertRow();
    const values = columns.length && r && typeof r === 'object' ? columns.map((c) => r[c]) : [r];
    for (const v of values) {
      const td = tr.insertCell();
      td.textContent = cell(v);
      td.title = cell(v);
      if (typeof v === 'number') td.className = 'num';
    }
  }
  body.appendChild(table);
}

// ---------------------------------------------------------------------------------------
// Polling

let graph = null;

async function poll() {
  try {
    const res = await fetch('stats', { cache: 'no-store' });
    if (res.status === 401) {
      setStatus('down', 'needs the bearer token');
      showNotice('This app requires a bearer token (MOOSE_INGEST_TOKEN): the dashboard reads /stats behind the same auth layer as ingest.');
      return;
    }
    if (!res.ok) {
      setStatus('down', `/stats answered HTTP ${res.status}`);
      showNotice(`GET /stats answered HTTP ${res.status}; retrying every second.`);
      return;
    }
    const stats = await res.json();
    state.previous = state.current;
    state.current = stats;
    if (state.previous && stats.taken_at_ms <= state.previous.taken_at_ms) state.previous = null;
    const next = pipeline(stats);
    const shape = JSON.stringify([[...next.nodes.keys()], next.edges.map((e) => e.id)]);
    if (shape !== state.shape || !graph) {
      state.shape = shape;
      graph = next;
      draw(graph);
    }
    header(stats);
    update(graph);
  } catch (e) {
    setStatus('down', 'cannot reach the app');
    showNotice(`Cannot reach /stats (${e.message}); is the app still running? Retrying every second.`);
  }
}

function showNotice(message) {
  const notice = document.getElementById('notice');
  notice.hidden = false;
  notice.textContent = message;
}

async function tick() {
  await Promise.all([poll(), peek()]);
  setTimeout(tick, POLL_MS);
}

tick();
