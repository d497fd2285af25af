// The console page: polls the console's JSON and draws it. Everything shown comes from Kafka,
// Postgres or Connect, so it is written as text (textContent), never as HTML.
/* global uPlot */

const $ = (id) => document.getElementById(id)

/** Builds an element; children are nodes or text. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value)
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ''))
  return node
}

// The token comes in the URL's fragment (browsers do not send it to the server). Kept for this
// tab only, and taken out of the address bar so it is not shared with a screenshot or a link.
const fromHash = new URLSearchParams(location.hash.slice(1)).get('token')
if (fromHash) {
  sessionStorage.setItem('console-token', fromHash)
  history.replaceState(null, '', location.pathname)
}
const token = sessionStorage.getItem('console-token')
$('mode').textContent = token ? 'actions enabled' : 'read-only (open the console with #token=… to act)'
$('mode').dataset.mode = token ? 'actions' : 'read-only'

// Every call carries it: the console answers no request without (no other site can send it).
const consoleHeader = { 'x-console': '1' }

async function getJson(url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: consoleHeader })
  const body = await response.json()
  if (!response.ok) throw new Error(`${body.code ?? response.status}: ${body.message ?? ''}`)
  return body
}

/** An action: the token, and a fresh CSRF token tied to this page's cookie. */
async function act(url, body) {
  const { csrfToken } = await getJson('/api/csrf')
  const headers = { ...consoleHeader, 'content-type': 'application/json', 'x-csrf-token': csrfToken }
  if (token) headers.authorization = `Bearer ${token}`
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers,
    body: JSON.stringify(body ?? {}),
  })
  const result = await response.json()
  if (!response.ok) throw new Error(`${result.code ?? response.status}: ${result.message ?? ''}`)
  return result
}

function outcome(id, kind, text) {
  $(id).dataset.kind = kind
  $(id).textContent = text
}

// --- the path --------------------------------------------------------------------------------

const words = { ok: 'healthy', warn: 'attention', fail: 'broken' }

function drawStages(overview) {
  const list = $('stages')
  list.replaceChildren(
    ...overview.stages.map((stage) => {
      const item = el(
        'li',
        { class: 'stage', 'data-stage': stage.id, 'data-severity': stage.severity },
        el('h3', {}, stage.title),
        el('span', { class: 'state' }, words[stage.severity]),
        el('ul', {}, ...stage.details.map((line) => el('li', {}, line))),
      )
      if (stage.hint) item.append(el('p', { class: 'hint' }, `→ ${stage.hint}`))
      return item
    }),
  )
  const worst =
    overview.stages.find((s) => s.severity === 'fail') ?? overview.stages.find((s) => s.severity === 'warn')
  const summary = $('summary')
  summary.dataset.severity = worst?.severity ?? 'ok'
  // Which stage, and why, readable from the top of the page: its first finding follows.
  summary.textContent = worst
    ? `${worst.title}: ${words[worst.severity]}${worst.details[0] ? ` (${worst.details[0]})` : ''}`
    : 'every stage is healthy'
  $('updated').textContent = overview.at
    ? `checked ${new Date(overview.at).toLocaleTimeString()}`
    : 'first check running…'
  $('connector-name').textContent = overview.connectorName
}

// --- charts ----------------------------------------------------------------------------------

const palette = ['#0969da', '#1a7f37', '#cf222e', '#8250df', '#bf8700', '#1b7c83', '#953800', '#6e7781']
const charts = {}

/** 1.5 KiB, 12 MiB…: the slot's retained WAL. */
function bytes(n) {
  if (n === null || n === undefined) return ''
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let i = 0
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024
    i += 1
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[i]}`
}

const chartHeight = 200
const chartWidth = (target) => Math.max(300, target.clientWidth)
/** Clock time on the x axis: the window is 15 minutes, so the date would only crowd the labels. */
const clock = (_u, ticks) =>
  ticks.map((t) =>
    new Date(t * 1000).toLocaleTimeString([], {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }),
  )

// A chart takes the width of its box when drawn; the box changes with the window.
const resized = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const plot = charts[entry.target.id]?.plot
    if (plot && plot.width !== chartWidth(entry.target))
      plot.setSize({ width: chartWidth(entry.target), height: chartHeight })
  }
})

/** Creates or updates one chart; recreated when its series change (a new partition). */
function chart(id, names, columns, format, options = {}) {
  const target = $(id)
  const key = names.join('|')
  const data = [columns.t, ...columns.series]
  if (charts[id]?.key === key) {
    charts[id].plot.setData(data)
    return
  }
  charts[id]?.plot.destroy()
  resized.observe(target)
  const settings = {
    width: chartWidth(target),
    height: chartHeight,
    legend: { live: false },
    scales: { x: { time: true } },
    axes: [
      { values: clock, space: 80 },
      { size: 80, ...(format ? { values: (_u, ticks) => ticks.map(format) } : {}) },
    ],
    series: [
      {},
      ...names.map((label, i) => ({
        label,
        stroke: palette[i % palette.length],
        width: 1.5,
        spanGaps: false,
        // A point between two gaps has no line to draw: show it as a dot.
        points: { show: true, size: 4 },
      })),
    ],
  }
  target.classList.toggle('compact-legend', options.compactLegend === true)
  charts[id] = { key, plot: new uPlot(settings, data, target) }
}

/**
 * Partition names for a legend: `[group ]topic[partition]`, with the dotted prefix every topic
 * shares taken off (`ns.events.a[0]` reads `a[0]` beside `b[1]`).
 */
function shortPartitionNames(names) {
  const topics = names.map((n) => /(\S+)\[\d+\]$/.exec(n)?.[1] ?? '')
  let prefix = topics[0] ?? ''
  for (const t of topics) while (!t.startsWith(prefix)) prefix = prefix.slice(0, -1)
  prefix = prefix.slice(0, prefix.lastIndexOf('.') + 1)
  if (!prefix || topics.some((t) => t === prefix)) return names
  return names.map((n) => n.replace(prefix, ''))
}

function drawCharts(h) {
  chart('chart-rates', ['written/s', 'applied/s'], { t: h.t, series: [h.writtenPerS, h.appliedPerS] })
  chart('chart-latency', ['p50 ms', 'p99 ms'], { t: h.t, series: [h.p50Ms, h.p99Ms] })
  const partitions = Object.keys(h.lag)
  chart(
    'chart-lag',
    partitions.length ? shortPartitionNames(partitions) : ['(no partitions)'],
    { t: h.t, series: partitions.length ? partitions.map((p) => h.lag[p]) : [h.t.map(() => null)] },
    undefined,
    { compactLegend: true },
  )
  chart('chart-slot', ['retained'], { t: h.t, series: [h.slotRetainedBytes] }, bytes)
  chart('chart-dead', ['dead letters'], { t: h.t, series: [h.deadLetters] })
  const last = (series) => series.findLast((v) => v !== null)
  $('chart-rates').dataset.written = String(h.writtenPerS.reduce((sum, v) => sum + (v ?? 0), 0))
  $('chart-rates').dataset.applied = String(h.appliedPerS.reduce((sum, v) => sum + (v ?? 0), 0))
  $('chart-dead').dataset.last = String(last(h.deadLetters) ?? '')
}

// --- dead letters ----------------------------------------------------------------------------

const letterRow = (l) =>
  el(
    'tr',
    { 'data-event-id': l.eventId ?? '' },
    el('td', {}, l.at ?? '?'),
    el('td', {}, `${l.errorCode ?? '?'}: ${l.errorMessage ?? ''}`),
    el('td', {}, `${l.eventType ?? '?'} ${l.eventId ?? '?'}`),
    el('td', {}, `${l.original.topic}[${l.original.partition}]@${l.original.offset}`),
    el('td', {}, l.group ?? ''),
    el('td', {}, l.attempts ?? '?'),
  )

const parkedRow = (p) =>
  el(
    'tr',
    { 'data-parked-key': p.key },
    el('td', {}, p.group),
    el('td', {}, p.topic),
    el('td', {}, p.key),
    el('td', {}, p.head),
    el('td', {}, String(p.waiting)),
    el('td', {}, p.since),
  )

async function loadDeadLetters() {
  try {
    const { topic, letters, newestPerPartition, parked } = await getJson('/api/dead-letters')
    $('dlq-topic').textContent =
      `${topic}: ${lastDead ?? '?'} waiting for a redrive; the newest ${letters.length} kept are shown ` +
      `(up to ${newestPerPartition} a partition; redriven ones stay until retention ends)`
    $('dlq-rows').replaceChildren(...letters.map(letterRow))
    $('dlq-parked').replaceChildren(...(parked ?? []).map(parkedRow))
    $('dlq-parked-none').textContent =
      parked === null || parked === undefined
        ? 'parked keys unknown (the database did not answer, or no parked-letters table is configured)'
        : parked.length === 0
          ? 'no key is held back'
          : ''
  } catch (error) {
    outcome('dlq-outcome', 'error', `cannot list dead letters: ${error.message}`)
  }
}

$('dlq-refresh').addEventListener('click', loadDeadLetters)
$('dlq-preview').addEventListener('click', async () => {
  outcome('dlq-outcome', 'busy', 'previewing…')
  try {
    const preview = await act('/api/dead-letters/redrive', { dryRun: true })
    outcome('dlq-outcome', 'done', `${preview.count} dead letter(s) would be sent back`)
    if (preview.count === 0) return
    $('dlq-confirm-text').textContent =
      `Send ${preview.count} dead letter(s) back to their topics? ` +
      preview.letters.map((l) => `${l.eventType ?? '?'} ${l.eventId ?? '?'}`).join(', ') +
      '. Letters that arrive before you confirm are sent too.'
    $('dlq-confirm').hidden = false
  } catch (error) {
    outcome('dlq-outcome', 'error', error.message)
  }
})
$('dlq-confirm-no').addEventListener('click', () => {
  $('dlq-confirm').hidden = true
  outcome('dlq-outcome', 'done', 'redrive cancelled: nothing sent')
})
$('dlq-confirm-yes').addEventListener('click', async () => {
  $('dlq-confirm').hidden = true
  outcome('dlq-outcome', 'busy', 'sending…')
  try {
    const result = await act('/api/dead-letters/redrive', { dryRun: false, confirm: true })
    outcome('dlq-outcome', 'done', `${result.count} dead letter(s) sent back to their topics`)
  } catch (error) {
    outcome('dlq-outcome', 'error', error.message)
  }
  await loadDeadLetters()
})

// --- connector actions -----------------------------------------------------------------------

for (const button of document.querySelectorAll('[data-connector-action]')) {
  button.addEventListener('click', async () => {
    const action = button.dataset.connectorAction
    outcome('connector-outcome', 'busy', `${action}…`)
    try {
      const result = await act(`/api/connector/${action}`)
      const states = result.status
        ? [result.status.connector, ...result.status.tasks].map((p) => p.state).join(', ')
        : 'no status'
      outcome(
        'connector-outcome',
        result.settled ? 'done' : 'busy',
        result.settled
          ? `${action}: done (connector and tasks now ${states})`
          : `${action}: sent, not settled yet (connector and tasks now ${states})`,
      )
    } catch (error) {
      outcome('connector-outcome', 'error', `${action} failed: ${error.message}`)
    }
    await refresh()
  })
}

// --- events ----------------------------------------------------------------------------------

let lastSeq = 0
let epoch
const shown = []
const filter = () => ({ type: $('filter-type').value.trim(), key: $('filter-key').value.trim() })
const matches = (e, f) => (!f.type || e.eventType === f.type) && (!f.key || e.key === f.key)

const eventRow = (e) =>
  el(
    'tr',
    { 'data-event-type': e.eventType ?? '', 'data-key': e.key ?? '' },
    el('td', {}, new Date(e.at).toLocaleTimeString()),
    el('td', {}, `${e.topic} [${e.partition}] @ ${e.offset}`),
    el('td', {}, e.key ?? ''),
    el('td', {}, e.eventType ?? ''),
    el('td', {}, e.eventId ?? ''),
    el('td', {}, el('pre', {}, JSON.stringify(e.payload, null, 2))),
  )

function drawEvents() {
  const f = filter()
  const rows = shown
    .filter((e) => matches(e, f))
    .slice(-100)
    .reverse()
  $('event-rows').replaceChildren(...rows.map(eventRow))
  $('events-count').textContent = `${rows.length} shown of ${shown.length} seen since the page opened`
}
$('filter-type').addEventListener('input', drawEvents)
$('filter-key').addEventListener('input', drawEvents)

async function pollEvents() {
  try {
    const answer = await getJson(`/api/events?after=${epoch === undefined ? 0 : lastSeq}`)
    if (answer.epoch !== epoch) {
      // Another console process (it restarted): its numbers start again; ask again from 0.
      const restarted = epoch !== undefined
      epoch = answer.epoch
      lastSeq = 0
      if (restarted) return pollEvents()
    }
    const { events } = answer
    if (events.length === 0) return
    lastSeq = events.at(-1).seq
    shown.push(...events)
    shown.splice(0, Math.max(0, shown.length - 500))
    drawEvents()
  } catch {
    // The console itself is gone; the next poll tries again.
  }
}

// --- the loop --------------------------------------------------------------------------------

let lastDead
async function refresh() {
  try {
    const [overview, history] = await Promise.all([getJson('/api/overview'), getJson('/api/history')])
    drawStages(overview)
    drawCharts(history)
    if (overview.deadLetters !== lastDead) {
      lastDead = overview.deadLetters
      await loadDeadLetters()
    }
  } catch (error) {
    $('summary').dataset.severity = 'fail'
    $('summary').textContent = `the console does not answer: ${error.message}`
  }
}

for (const button of document.querySelectorAll('button[data-connector-action], #dlq-preview'))
  button.disabled = !token
void refresh()
void pollEvents()
setInterval(refresh, 3000)
setInterval(pollEvents, 1500)
