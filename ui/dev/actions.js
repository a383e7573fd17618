// Scripted interactions for preview screenshots (ui/dev/preview.html?act=NAME#/screen).
// Dev only, like mock-tauri.js. Uses only data-testid selectors, as the WebDriver test will.
(function () {
  'use strict';
  const act = new URLSearchParams(location.search).get('act');
  if (!act) return;

  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const $ = (tid) => document.querySelector(`[data-testid="${tid}"]`);
  async function until(tid, timeout = 4000) {
    for (let t = 0; t < timeout; t += 50) {
      const el = $(tid);
      if (el) return el;
      await wait(50);
    }
    throw new Error(`no element [data-testid=${tid}]`);
  }
  async function type(tid, text) {
    const el = await until(tid);
    el.focus();
    el.value = text;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    el.blur();
  }
  async function click(tid) {
    (await until(tid)).click();
  }
  // One stroke as pointer events in CSS pixels relative to the element.
  function stroke(el, pts, type = 'pen') {
    const r = el.getBoundingClientRect();
    let i = 0;
    const fire = (kind, [x, y]) => el.dispatchEvent(new PointerEvent(kind, {
      bubbles: true, cancelable: true, pointerId: 7, pointerType: type, isPrimary: true,
      pressure: kind === 'pointerup' ? 0 : 0.35 + 0.4 * Math.sin(i++ / 4) ** 2,
      clientX: r.left + x, clientY: r.top + y, buttons: kind === 'pointerup' ? 0 : 1,
    }));
    fire('pointerdown', pts[0]);
    for (const p of pts.slice(1)) fire('pointermove', p);
    fire('pointerup', pts[pts.length - 1]);
  }
  function curve(f, n = 40) {
    return Array.from({ length: n + 1 }, (_, k) => f(k / n));
  }
  async function signature() {
    const c = await until('sign-canvas');
    const w = c.getBoundingClientRect().width;
    const s = Math.min(w / 360, 1.6);
    // A quick hand-written "김한" style scribble.
    stroke(c, curve((t) => [40 * s + 50 * s * t, 70 * s + 8 * s * Math.sin(t * 3)]));
    stroke(c, curve((t) => [90 * s - 10 * s * t, 70 * s + 90 * s * t]));
    stroke(c, curve((t) => [120 * s, 60 * s + 110 * s * t]));
    stroke(c, curve((t) => [60 * s + 50 * s * Math.cos(t * 6.3), 190 * s + 25 * s * Math.sin(t * 6.3)], 60));
    stroke(c, curve((t) => [170 * s + 120 * s * t, 120 * s - 40 * s * Math.sin(t * 9) * (1 - t)], 80));
  }

  const scenarios = {
    // Clients: instant results for initials.
    search: async () => type('account-search', 'ㅎㅂ'),
    // Order: product results, two products added, one stepped up.
    products: async () => {
      await type('product-search', 'ㅂㅋ');
      await wait(400);
      await click('product-add');
      await type('product-search', '비타');
      await wait(400);
      await click('product-add');
      await wait(300);
      await click('qty-plus');
      await click('qty-plus');
    },
    // Order: "get signature" with no items.
    'order-empty': async () => click('to-sign'),
    // Order over the credit limit.
    'order-block': async () => {
      await type('product-search', '마스크');
      await wait(400);
      await click('product-add');
      await wait(200);
      const q = await until('qty-input');
      q.value = '40';
      q.dispatchEvent(new Event('change', { bubbles: true }));
      await wait(400);
      await click('to-sign');
    },
    // Signature: strokes drawn.
    sign: signature,
    // Signature drawn and submitted: the order with its PDF button (registered a moment later).
    'sign-submit': async () => {
      await signature();
      await wait(100);
      await click('sign-confirm');
      await wait(2500);
      await click('export-pdf');
    },
    // Signature: confirm with nothing drawn and no name.
    'sign-empty': async () => {
      await type('signer-name', '');
      await click('sign-confirm');
    },
    // Charge form: wrong phone, zero amount, empty goods.
    'charge-errors': async () => {
      await type('charge-phone', '0212');
      await type('charge-amount', '0');
      await type('charge-goods', '');
      await click('charge-send');
    },
    // Charge form: the shell refuses (mock: 010-0000-0000 does not exist).
    'charge-refused': async () => {
      await type('charge-phone', '01000000000');
      await click('charge-send');
    },
    // Charge form: third-party payment.
    'third-party': async () => {
      await click('charge-third-party');
      await type('charge-phone', '01098761234');
      await type('charge-payer-name', '김대리');
    },
    // Charge: send and watch the live timeline.
    'charge-live': async () => {
      await click('charge-send');
    },
    // Order view: export the PDF.
    pdf: async () => click('export-pdf'),
    // Settings: English.
    'lang-en': async () => click('lang-en'),
  };
  const run = scenarios[act];
  if (!run) return console.error('unknown act', act);
  window.addEventListener('load', () => setTimeout(() => run().catch((e) => console.error(e)), 400));
})();
