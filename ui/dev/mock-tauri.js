// A stand-in for the Tauri shell, for previewing the UI in a plain browser (ui/dev/preview.html).
// NOT part of the app: ui/index.html never loads it, and it is not copied to ui/dist.
//
// It answers every command of docs/app-shell.md with canned Korean demo data kept in memory,
// and emits `engine` events (a requested charge walks through its timeline to "approved").
// Options in the query string of preview.html:
//   ?signedout=1   app_info has no session (the sign-in screen)
//   ?offline=1     offline with 2 queued actions and 2 problems
//   ?slow=MS       every command takes MS ms (default 1500; a huge value shows the loading states)
//   ?fail=CMD      that command fails with an `unavailable` error (see the error states)
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  const OFFLINE = params.has('offline');
  const SLOW = params.has('slow') ? (Number(params.get('slow')) || 1500) : 0;
  const FAIL = params.get('fail');

  const now = Date.now();
  const iso = (msAgo) => new Date(now - msAgo).toISOString();
  const MIN = 60e3, HOUR = 3600e3, DAY = 86400e3;
  let seq = 100;
  const newId = (p) => `${p}_${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

  // ---------- demo data ----------
  const accountRows = [
    // id, code, name, owner, biz, phone, address, limit, balance, aging
    ['acc_01', 'C-1001', '한빛약국', '김한빛', '2208162517', '01023456789', '서울 마포구 월드컵로 12', 5000000, 1284000, [884000, 400000, 0, 0]],
    ['acc_02', 'C-1002', '우성종합상사', '이우성', '1078615238', '0231456789', '서울 중구 을지로 88', 10000000, 7420000, [3200000, 2100000, 1320000, 800000]],
    ['acc_03', 'C-1003', '새봄마트 역삼점', '박새봄', '2148734561', '01098765432', '서울 강남구 테헤란로 231', 3000000, 2960000, [960000, 2000000, 0, 0]],
    ['acc_04', 'C-1004', '대한메디칼', '최대한', '1208155554', '0312345678', '경기 성남시 분당구 판교로 45', 8000000, 0, [0, 0, 0, 0]],
    ['acc_05', 'C-1005', '서울식자재마트', '정서울', '1348623457', '01055512345', '서울 송파구 가락로 77', 6000000, 438900, [438900, 0, 0, 0]],
    ['acc_06', 'C-1006', '온누리약국', '한온누리', '6058112341', '01077778888', '부산 해운대구 센텀로 9', 4000000, 1650000, [650000, 500000, 500000, 0]],
    ['acc_07', 'C-1007', '그린마트 동탄점', '윤그린', '1238198764', '01031234567', '경기 화성시 동탄대로 120', 5000000, 92000, [92000, 0, 0, 0]],
    ['acc_08', 'C-1008', '미래의원', '강미래', '2118645672', '0262223333', '서울 관악구 남부순환로 1800', 2000000, 0, [0, 0, 0, 0]],
    ['acc_09', 'C-1009', '행복한슈퍼', '오행복', '3128133335', '01066660000', '대전 유성구 대학로 99', 1500000, 1710000, [210000, 0, 500000, 1000000]],
    ['acc_10', 'C-1010', '동네약국 연남점', '임동네', '1058722226', '01044445555', '서울 마포구 동교로 250', 3000000, 350000, [350000, 0, 0, 0]],
  ];
  const accounts = accountRows.map(([id, code, name, owner, biz, phone, address, limit, balance, aging]) => ({
    account: { id, code, name, owner_name: owner, business_number: biz, phone, address, credit_limit: limit, closed: false, rep_id: 'rep_1', updated_at: iso(5 * DAY) },
    balance,
    aging: { days_0_30: aging[0], days_31_60: aging[1], days_61_90: aging[2], days_over_90: aging[3] },
  }));
  const productRows = [
    ['p_01', 'P-0101', '타이레놀정 500mg (10정)', 2300, '갑'],
    ['p_02', 'P-0102', '판콜에이 내복액 (30ml×3)', 2700, '세트'],
    ['p_03', 'P-0103', '베아제정 (10정)', 3500, '갑'],
    ['p_04', 'P-0201', '박카스D 100ml (10병)', 8000, '박스'],
    ['p_05', 'P-0202', '비타500 100ml (10병)', 7000, '박스'],
    ['p_06', 'P-0203', '제주 삼다수 2L (6개입)', 5400, '팩'],
    ['p_07', 'P-0301', '신라면 멀티팩 (5개입)', 4300, '팩'],
    ['p_08', 'P-0302', '햇반 210g (12개입)', 14900, '박스'],
    ['p_09', 'P-0303', '참치 살코기 150g (4캔)', 9800, '세트'],
    ['p_10', 'P-0401', '마스크 KF94 대형 (50매)', 19000, '박스'],
    ['p_11', 'P-0402', '손소독제 500ml', 4500, '개'],
    ['p_12', 'P-0403', '밴드 혼합형 (100매)', 6200, '갑'],
    ['p_13', 'P-0501', '종이컵 6.5oz (1000개)', 16500, '박스'],
    ['p_14', 'P-0502', '물티슈 캡형 (100매×10)', 12000, '박스'],
  ];
  const products = productRows.map(([id, code, name, price, unit]) => ({ id, code, name, unit_price: price, unit, active: true, updated_at: iso(30 * DAY) }));

  const mkLines = (pairs) => pairs.map(([pid, q]) => {
    const p = products.find((x) => x.id === pid);
    return { product_id: p.id, product_code: p.code, product_name: p.name, quantity: q, unit_price: p.unit_price, line_total: p.unit_price * q };
  });
  const totalsOf = (lines) => {
    const supply = lines.reduce((s, l) => s + l.line_total, 0);
    const vat = Math.floor(supply / 10);
    return { supply, vat, total: supply + vat };
  };
  const mkOrder = (id, account_id, status, sync_state, pairs, agoMs, extra) => {
    const lines = mkLines(pairs);
    return {
      order: Object.assign({
        id, number: status === 'registered' ? `PO-${new Date(now - agoMs).toISOString().slice(0, 10).replace(/-/g, '')}-${id.slice(-4)}` : null,
        account_id, rep_id: 'rep_1', status, lines, totals: totalsOf(lines), memo: '',
        signature: status === 'draft' ? null : { signer_name: accounts.find((a) => a.account.id === account_id).account.owner_name, signed_at: iso(agoMs - MIN), device: 'FieldPay', gps: null, content_hash: 'ab12…', strokes_json: null },
        has_signature_image: status !== 'draft', has_pdf: status !== 'draft', reject_reason: null,
        created_at: iso(agoMs), updated_at: iso(agoMs - MIN),
      }, extra || {}),
      sync_state,
    };
  };
  const orders = [
    mkOrder('ord_0001', 'acc_01', 'registered', 'synced', [['p_01', 20], ['p_03', 10], ['p_12', 5]], 2 * HOUR),
    mkOrder('ord_0002', 'acc_05', 'registered', 'synced', [['p_06', 30], ['p_07', 40], ['p_08', 10]], 3 * HOUR),
    mkOrder('ord_0003', 'acc_03', 'signed', 'queued', [['p_04', 12], ['p_05', 12]], 40 * MIN),
    mkOrder('ord_0004', 'acc_09', 'rejected', 'rejected', [['p_13', 20], ['p_14', 10]], 5 * HOUR, { reject_reason: '여신 한도 초과: 한도 1,500,000원, 미수 1,710,000원' }),
    mkOrder('ord_0005', 'acc_06', 'draft', 'local', [['p_10', 3], ['p_11', 6]], 20 * MIN),
    mkOrder('ord_0006', 'acc_01', 'registered', 'synced', [['p_02', 30], ['p_01', 30]], 9 * DAY),
    mkOrder('ord_0007', 'acc_02', 'registered', 'synced', [['p_09', 50], ['p_08', 20]], 12 * DAY),
  ];

  const ev = (status, ago, detail) => (detail ? { status, at: iso(ago), detail } : { status, at: iso(ago) });
  const mkCharge = (id, account_id, status, amount, goods, phone, name, agoMs, events, extra) => ({
    charge: Object.assign({
      id, status, kind: 'general', origin: 'app', amount, goods_name: goods, payer_phone: phone, payer_name: name,
      orderer: null, third_party: false, order_ref: null, account_id, rep_id: 'rep_1', installments: amount >= 50000,
      virtual_number: ['requested', 'sms_sent', 'call_connected', 'verified', 'card_entered', 'declined'].includes(status) ? '1600-0012' : null,
      created_at: iso(agoMs), expires_at: iso(agoMs - HOUR), events, payment: null, decline_reason: null,
    }, extra || {}),
    sync_state: status === 'queued' ? 'queued' : 'synced',
  });
  const payment = (amount, ago, issuer, code, masked, months) => ({
    approval_number: String(30000000 + Math.floor(Math.random() * 9999999)), issuer_code: code, issuer_name: issuer,
    masked_card: masked, installment_months: months, amount, approved_at: iso(ago), receipt_url: 'http://127.0.0.1:8080/receipts/demo',
  });
  const charges = [
    mkCharge('chg_0001', 'acc_01', 'approved', 1284000, '타이레놀정 500mg (10정) 외 2건', '010-2345-6789', '김한빛', 100 * MIN,
      [ev('requested', 100 * MIN), ev('sms_sent', 99 * MIN), ev('call_connected', 97 * MIN), ev('verified', 97 * MIN), ev('card_entered', 95 * MIN), ev('approved', 95 * MIN)],
      { payment: payment(1284000, 95 * MIN, '신한카드', '04', '451842******1234', 3) }),
    mkCharge('chg_0002', 'acc_05', 'approved', 438900, '제주 삼다수 2L (6개입) 외 2건', '010-5551-2345', '정서울', 150 * MIN,
      [ev('requested', 150 * MIN), ev('sms_sent', 150 * MIN), ev('call_connected', 140 * MIN), ev('verified', 140 * MIN), ev('card_entered', 139 * MIN), ev('approved', 139 * MIN)],
      { payment: payment(438900, 139 * MIN, 'KB국민카드', '01', '940915******5678', 0) }),
    mkCharge('chg_0003', 'acc_03', 'sms_sent', 211200, '박카스D 100ml (10병) 외 1건', '010-9876-5432', '박새봄', 12 * MIN,
      [ev('requested', 12 * MIN), ev('sms_sent', 12 * MIN)]),
    mkCharge('chg_0004', 'acc_06', 'declined', 650000, '미수금 결제', '010-7777-8888', '한온누리', 50 * MIN,
      [ev('requested', 50 * MIN), ev('sms_sent', 50 * MIN), ev('call_connected', 45 * MIN), ev('verified', 45 * MIN), ev('card_entered', 44 * MIN), ev('declined', 44 * MIN, '한도 초과')],
      { decline_reason: '카드 한도 초과' }),
    mkCharge('chg_0005', 'acc_02', 'canceled', 3200000, '미수금 결제', '010-3145-6789', '이우성', 26 * HOUR,
      [ev('requested', 26 * HOUR), ev('sms_sent', 26 * HOUR), ev('canceled', 25 * HOUR)]),
    mkCharge('chg_0006', 'acc_10', 'approved', 350000, '미수금 결제', '010-4444-5555', '임동네', 3 * DAY,
      [ev('requested', 3 * DAY), ev('sms_sent', 3 * DAY), ev('approved', 3 * DAY - 5 * MIN)],
      { payment: payment(350000, 3 * DAY - 5 * MIN, '현대카드', '07', '433012******9012', 0) }),
  ];
  if (OFFLINE) {
    charges.unshift(mkCharge('chg_0007', 'acc_07', 'queued', 92000, '미수금 결제', '010-3123-4567', '윤그린', 3 * MIN, [ev('queued', 3 * MIN)]));
  }

  const collections = [];
  const problems = OFFLINE ? [
    { client_id: 'mut_01', entity_id: 'ord_0004', action: 'submit_order', error: { code: 'credit_limit_exceeded', message: '여신 한도 초과: 한도 1,500,000원, 미수 1,710,000원, 주문 363,000원' }, created_at: iso(5 * HOUR) },
    { client_id: 'mut_02', entity_id: 'chg_0099', action: 'request_charge', error: { code: 'invalid_phone', message: '결제자 전화번호가 휴대폰 번호가 아닙니다: 02-123-4567' }, created_at: iso(2 * HOUR) },
  ] : [];

  const rep = { id: 'rep_1', login: 'rep1', name: '김영업', merchant_id: 'm_demo', merchant_name: '필드페이 데모상사', credit_policy: 'block', merchant_business_number: '2208162517' };
  const status = {
    signed_in: !params.has('signedout'), online: !OFFLINE, syncing: false,
    queued: OFFLINE ? 2 : 0, problems: problems.length,
    last_sync: iso(2 * MIN), last_error: OFFLINE ? '서버에 연결할 수 없습니다 (connection refused)' : null,
  };
  let info = {
    version: '0.1.0', sandbox: true, server_url: 'http://127.0.0.1:38451', sandbox_phone_url: 'http://127.0.0.1:38451/sandbox/phone',
    session: params.has('signedout') ? null : rep, status,
  };

  // ---------- helpers ----------
  const CHO = 'ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ';
  const initials = (s) => Array.from(s).map((c) => {
    const code = c.charCodeAt(0) - 0xac00;
    return code >= 0 && code < 11172 ? CHO[Math.floor(code / 588)] : c;
  }).join('');
  const norm = (s) => s.toLowerCase().replace(/[\s-]/g, '');
  const matches = (q, fields) => {
    const nq = norm(q);
    if (!nq) return false;
    return fields.some((f) => {
      const nf = norm(f);
      return nf.includes(nq) || norm(initials(f)).includes(nq);
    });
  };
  const err = (code, message) => ({ code, message });
  const clone = (x) => JSON.parse(JSON.stringify(x));
  const accountById = (id) => accounts.find((a) => a.account.id === id);
  const listeners = [];
  const emit = (payload) => listeners.forEach((h) => h({ event: 'engine', id: 0, payload: clone(payload) }));
  const detail = (a) => ({
    account: a.account, balance: a.balance, aging: a.aging,
    credit_available: a.account.credit_limit - a.balance - orders.filter((o) => o.order.account_id === a.account.id && o.order.status === 'signed').reduce((s, o) => s + o.order.totals.total, 0),
    recent_orders: orders.filter((o) => o.order.account_id === a.account.id).slice(0, 5),
    recent_charges: charges.filter((c) => c.charge.account_id === a.account.id).slice(0, 5),
    ledger: [
      { id: 'l1', account_id: a.account.id, kind: 'order', amount: Math.round(a.balance * 0.6), ref_id: null, memo: '', at: iso(20 * DAY) },
      { id: 'l2', account_id: a.account.id, kind: 'payment', amount: -300000, ref_id: null, memo: '', at: iso(10 * DAY) },
      { id: 'l3', account_id: a.account.id, kind: 'order', amount: a.balance - Math.round(a.balance * 0.6) + 300000, ref_id: null, memo: '', at: iso(2 * DAY) },
    ],
    collections: collections.filter((c) => c.collection.account_id === a.account.id),
    pending_collected: 0,
  });
  const priceLines = (lines) => lines.map((l) => {
    const p = products.find((x) => x.id === l.product_id);
    if (!p) throw err('not_found', `상품을 찾을 수 없습니다: ${l.product_id}`);
    if (!(l.quantity > 0)) throw err('invalid_field', '수량은 1 이상이어야 합니다');
    return { product_id: p.id, product_code: p.code, product_name: p.name, quantity: l.quantity, unit_price: p.unit_price, line_total: p.unit_price * l.quantity };
  });
  const creditOf = (accountId, total) => {
    const a = accountById(accountId);
    const available = a.account.credit_limit - a.balance;
    if (total <= available) return { result: 'ok', available: available - total };
    return { result: 'block', message: `여신 한도를 초과합니다 (한도 ${a.account.credit_limit.toLocaleString('ko-KR')}원)`, over_by: total - available };
  };

  // Walks a charge through the IVR steps, emitting charge_changed like the engine.
  const simulate = (lc) => {
    const steps = ['sms_sent', 'call_connected', 'verified', 'card_entered', 'approved'];
    let i = 0;
    const tick = () => {
      const c = lc.charge;
      if (['canceled', 'expired', 'approved', 'refunded'].includes(c.status) || i >= steps.length) return;
      c.status = steps[i++];
      c.events.push({ status: c.status, at: new Date().toISOString() });
      if (c.status === 'approved') {
        c.payment = payment(c.amount, 0, '삼성카드', '03', '536648******3456', c.amount >= 50000 ? 2 : 0);
        c.virtual_number = null;
        const a = accountById(c.account_id);
        if (a) a.balance = Math.max(0, a.balance - c.amount);
      }
      emit({ type: 'charge_changed', data: c });
      setTimeout(tick, 2200);
    };
    setTimeout(tick, 1800);
  };

  // ---------- commands ----------
  const commands = {
    app_info: () => info,
    start_sandbox: () => { info = Object.assign({}, info, { session: rep, sandbox: true }); info.status.signed_in = true; return info; },
    login: (a) => {
      if (a.password !== 'demo1234') throw err('unauthorized', '아이디 또는 비밀번호가 올바르지 않습니다');
      info = Object.assign({}, info, { session: rep, sandbox: false, server_url: a.server_url });
      return info;
    },
    sign_out: () => { info = Object.assign({}, info, { session: null }); return info; },
    sync_now: () => Object.assign(status, { last_sync: new Date().toISOString() }),
    search_accounts: (a) => accounts
      .filter((x) => matches(a.query, [x.account.name, x.account.owner_name, x.account.phone, x.account.business_number, x.account.code]))
      .slice(0, a.limit).map((x) => ({ account: x.account, balance: x.balance })),
    account_detail: (a) => {
      const x = accountById(a.account_id);
      if (!x) throw err('not_found', '거래처를 찾을 수 없습니다');
      return detail(x);
    },
    search_products: (a) => products.filter((p) => matches(a.query, [p.name, p.code])).slice(0, a.limit)
      .map((p) => ({ product: p, unit_price: p.unit_price })),
    preview_order: (a) => {
      const lines = priceLines(a.lines);
      const totals = totalsOf(lines);
      return { account_id: a.account_id, lines, totals, credit: creditOf(a.account_id, totals.total) };
    },
    save_draft: (a) => {
      const lines = priceLines(a.lines);
      let o = a.order_id && orders.find((x) => x.order.id === a.order_id);
      if (!o) {
        o = mkOrder(newId('ord'), a.account_id, 'draft', 'local', [], 0);
        orders.unshift(o);
      }
      Object.assign(o.order, { lines, totals: totalsOf(lines), memo: a.memo, updated_at: new Date().toISOString() });
      return o;
    },
    reorder: (a) => {
      const src = orders.find((x) => x.order.id === a.order_id);
      if (!src) throw err('not_found', '주문을 찾을 수 없습니다');
      const o = mkOrder(newId('ord'), src.order.account_id, 'draft', 'local', src.order.lines.map((l) => [l.product_id, l.quantity]), 0);
      orders.unshift(o);
      return o;
    },
    sign_and_submit: (a) => {
      const o = orders.find((x) => x.order.id === a.order_id);
      if (!o) throw err('not_found', '주문을 찾을 수 없습니다');
      if (!a.signature.strokes.length) throw err('invalid_field', '서명이 비어 있습니다');
      const sig = a.signature;
      const okPoint = (p) => ['x', 'y', 't', 'pressure'].every((k) => typeof p[k] === 'number') && p.x >= 0 && p.y >= 0 && p.x <= sig.width && p.y <= sig.height;
      if (!sig.strokes.every((s) => Array.isArray(s) && s.length && s.every(okPoint)) || !(sig.width > 0 && sig.height > 0)) {
        throw err('invalid_field', '서명 데이터 형식이 올바르지 않습니다');
      }
      console.log('mock sign_and_submit', JSON.stringify({ signer: sig.signer_name, width: sig.width, height: sig.height, strokes: sig.strokes.length, points: sig.strokes.reduce((n, s) => n + s.length, 0), first: sig.strokes[0][0], last: sig.strokes[sig.strokes.length - 1].slice(-1)[0] }));
      Object.assign(o.order, {
        status: 'signed', has_signature_image: true, has_pdf: true,
        signature: { signer_name: a.signature.signer_name, signed_at: new Date().toISOString(), device: 'preview', gps: null, content_hash: 'c0ffee', strokes_json: null },
      });
      o.sync_state = OFFLINE ? 'queued' : 'synced';
      if (!OFFLINE) {
        setTimeout(() => {
          o.order.status = 'registered';
          o.order.number = `PO-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${String(seq++).padStart(4, '0')}`;
          emit({ type: 'order_changed', data: o });
        }, 1500);
      }
      return o;
    },
    orders: (a) => orders.filter((o) => !a.account_id || o.order.account_id === a.account_id).slice(0, a.limit),
    order: (a) => {
      const o = orders.find((x) => x.order.id === a.order_id);
      if (!o) throw err('not_found', '주문을 찾을 수 없습니다');
      return o;
    },
    export_pdf: (a) => `/home/rep/.local/share/kr.fieldpay.app/exports/${a.doc.kind === 'order' ? '발주서-' + a.doc.order_id : '일일마감-' + a.doc.date}.pdf`,
    pdf: () => { throw err('unavailable', 'PDF 미리보기는 앱에서만 됩니다 (the preview needs the app)'); },
    open_export: () => null,
    request_charge: ({ input }) => {
      if (!/^01[016789]\d{7,8}$/.test(input.payer_phone)) throw err('invalid_phone', `휴대폰 번호가 아닙니다: ${input.payer_phone}`);
      if (input.payer_phone === '01000000000') throw err('invalid_phone', '없는 번호입니다');
      if (!(input.amount > 0)) throw err('invalid_amount', '금액은 1원 이상이어야 합니다');
      const c = mkCharge(newId('chg'), input.account_id, OFFLINE ? 'queued' : 'requested', input.amount, input.goods_name,
        input.payer_phone.replace(/^(\d{3})(\d{3,4})(\d{4})$/, '$1-$2-$3'), input.payer_name, 0,
        [ev(OFFLINE ? 'queued' : 'requested', 0)],
        { orderer: input.orderer ? { name: input.orderer[0], phone: input.orderer[1] } : null, third_party: !!input.orderer, installments: input.installments, order_ref: input.order_id });
      if (!OFFLINE) c.charge.virtual_number = '1600-0012';
      charges.unshift(c);
      if (!OFFLINE) simulate(c);
      return c;
    },
    cancel_charge: (a) => {
      const c = charges.find((x) => x.charge.id === a.charge_id);
      if (!c) throw err('not_found', '결제 요청을 찾을 수 없습니다');
      if (c.charge.status === 'approved') throw err('invalid_state', '이미 승인된 결제는 취소할 수 없습니다. 환불을 이용하세요');
      c.charge.status = 'canceled';
      c.charge.virtual_number = null;
      c.charge.events.push(ev('canceled', 0));
      return c;
    },
    resend_charge_sms: (a) => {
      if (OFFLINE) throw err('unavailable', '오프라인에서는 문자를 다시 보낼 수 없습니다');
      return charges.find((x) => x.charge.id === a.charge_id);
    },
    refund_charge: (a) => {
      if (OFFLINE) throw err('unavailable', '오프라인에서는 환불할 수 없습니다');
      const c = charges.find((x) => x.charge.id === a.charge_id);
      c.charge.status = 'refunded';
      c.charge.payment.refunded_at = new Date().toISOString();
      c.charge.events.push(ev('refunded', 0, a.reason || undefined));
      return c;
    },
    charges: (a) => charges.filter((c) => !a.account_id || c.charge.account_id === a.account_id).slice(0, a.limit),
    charge: (a) => {
      const c = charges.find((x) => x.charge.id === a.charge_id);
      if (!c) throw err('not_found', '결제 요청을 찾을 수 없습니다');
      return c;
    },
    daily_closing: (a) => {
      if (OFFLINE) throw err('unavailable', '일일 마감은 온라인에서만 볼 수 있습니다 (서버에 연결할 수 없습니다)');
      const row = (key, name, n, amt, rn, ramt) => ({ key, name, approved_count: n, approved_amount: amt, refunded_count: rn, refunded_amount: ramt, net_amount: amt - ramt });
      const by = {};
      for (const c of charges) {
        const s = c.charge.status;
        by[s] = by[s] || { status: s, count: 0, amount: 0 };
        by[s].count += 1;
        by[s].amount += c.charge.amount;
      }
      return {
        date: a.date,
        merchant_name: '(주)한빛약품유통',
        rep_name: '김영업',
        settlement: {
          date: a.date,
          by_card_company: [row('04', '신한카드', 3, 2184000, 0, 0), row('01', 'KB국민카드', 2, 638900, 1, 200000), row('03', '삼성카드', 1, 96000, 0, 0), row('07', '현대카드', 1, 350000, 0, 0)],
          by_rep: [row('rep_1', '김영업', 7, 3268900, 1, 200000)],
          total: row('total', '합계', 7, 3268900, 1, 200000),
        },
        by_status: Object.values(by),
        collections: ['cash', 'transfer', 'note']
          .map((m) => ({ method: m, list: collections.filter((c) => c.collection.method === m && !c.collection.voided) }))
          .filter((x) => x.list.length)
          .map((x) => ({ method: x.method, count: x.list.length, amount: x.list.reduce((n, c) => n + c.collection.amount, 0) })),
      };
    },
    record_collection: ({ form }) => {
      if (!(form.amount > 0) || form.amount > 100000000) throw err('invalid_amount', 'amount: 수금액은 1원 ~ 1억원입니다');
      const now = new Date().toISOString();
      const c = {
        collection: {
          id: newId('col'), account_id: form.account_id, rep_id: 'rep_1', method: form.method, amount: form.amount,
          memo: form.memo || '', note: form.note || null, collected_at: now, recorded_at: now, voided: null,
        },
        sync_state: OFFLINE ? 'queued' : 'synced',
      };
      collections.unshift(c);
      return c;
    },
    collections: (a) => collections.filter((c) => c.collection.account_id === a.account_id),
    void_collection: (a) => {
      if (OFFLINE) throw err('unavailable', '오프라인에서는 취소할 수 없습니다');
      const c = collections.find((x) => x.collection.id === a.collection_id);
      if (!c) throw err('not_found', '수금 내역을 찾을 수 없습니다');
      if (c.collection.voided) throw err('conflict', '이미 취소된 수금입니다');
      c.collection.voided = { reason: a.reason, at: new Date().toISOString(), by: 'rep_mgr' };
      return c;
    },
    problems: () => problems,
    retry_problem: (a) => { problems.splice(problems.findIndex((p) => p.client_id === a.client_id), 1); status.problems = problems.length; return null; },
    discard_problem: (a) => { problems.splice(problems.findIndex((p) => p.client_id === a.client_id), 1); status.problems = problems.length; return null; },
    open_test_phone: () => { window.open(info.sandbox_phone_url, 'testphone', 'width=420,height=820'); return null; },
  };

  window.__TAURI__ = {
    core: {
      invoke(cmd, args) {
        return new Promise((resolve, reject) => {
          setTimeout(() => {
            if (FAIL === cmd) return reject(err('unavailable', '서버에 연결할 수 없습니다 (connect timeout)'));
            const f = commands[cmd];
            if (!f) return reject(err('not_found', `unknown command ${cmd}`));
            try { resolve(clone(f(args || {}) ?? null)); } catch (e) { reject(e && e.code ? e : err('internal', String(e))); }
          }, (SLOW && cmd !== 'app_info') ? SLOW : 40);
        });
      },
    },
    event: {
      listen(name, handler) {
        if (name === 'engine') listeners.push(handler);
        return Promise.resolve(() => { const i = listeners.indexOf(handler); if (i >= 0) listeners.splice(i, 1); });
      },
    },
  };
})();
