//! Stable `data-testid` values for the end-to-end tests (WebDriver). Every input, button and
//! result row carries one; components use these consts only, never literals.
//!
//! Find an element with the CSS selector `[data-testid="NAME"]`. Rows also carry `data-id`
//! (the record's id); status badges carry `data-status` (the wire value, e.g. `approved`,
//! `queued`); the current screen is `<main data-screen="...">` (Route::name).
//!
//! Full list:
//! - shell/navigation: `screen`, `nav-home`, `nav-clients`, `nav-orders`, `nav-payments`,
//!   `nav-more`, `nav-closing`, `nav-problems`, `nav-settings`, `back`, `sync-badge`,
//!   `toast`, `loading`, `empty`, `error` (a load failed: the shell's message), `retry`
//! - forms: `field-error` (next to the field it is about; also `id="<field testid>-error"`),
//!   `form-error` (the shell refused: its typed message, `data-code` = error code)
//! - sign-in: `signin-server`, `signin-merchant`, `signin-rep`, `signin-password`,
//!   `signin-submit`, `sandbox-start`
//! - home: `home-collected`, `home-orders-today`, `home-pending`, `pending-row`,
//!   `quick-new-order`, `quick-collect`, `quick-clients`, `quick-closing`
//! - clients: `account-search`, `account-row` (search results only), `client-list`,
//!   `client-row`, `client-sort`, `client-more`, `client-last` (the list while the box is empty), `account-balance` (in a row and on the
//!   client page); the client pickers of the order and charge screens use `account-search`
//!   and `account-row` too
//! - client page: `account-name`, `account-credit-limit`, `account-credit-available`,
//!   `aging-0-30`, `aging-31-60`, `aging-61-90`, `aging-over-90`, `new-order`, `collect`,
//!   `order-row`, `payment-row`, `call-client`, `check-in`, `visit-note`, `check-in-confirm`,
//!   `visit-row`, `check-out`, `record-collection`, `collection-row`
//!   (`data-id`, `data-method`, `data-state` = queued|synced|rejected, `data-voided`),
//!   `ledger-row` (`data-kind`), `col-void` (manager), `col-void-reason`,
//!   `col-void-confirm`, then `confirm-action` / `confirm-cancel`
//! - collection form: `col-method` (`data-method` = cash|transfer|note, `aria-pressed`),
//!   `col-amount`, `col-memo`, `col-note-number`, `col-note-bank`, `col-note-due`, `col-next`,
//!   `col-summary`, `col-edit`, `col-confirm`, `col-result` (`data-state`), `col-back`
//! - today's route (home): `route-visit`, `route-order-client`; the manager's visits (team):
//!   `mvisit-rep`, `mvisit-row`; send by text (order screen): `share-phone`, `share-po`,
//!   `share-receipt`, `share-row`
//! - order: `product-search`, `product-row`, `product-add`, `line-row`, `qty-minus`,
//!   `qty-input`, `qty-plus`, `line-remove`, `line-total`, `order-supply`, `order-vat`,
//!   `order-total`, `credit-warning` (`data-result` = ok|warn|block), `order-memo`,
//!   `save-draft`, `to-sign`
//! - signature: `sign-canvas`, `signer-name`, `sign-undo`, `sign-clear`, `sign-confirm`,
//!   `stroke-count`
//! - order view / purchase orders: `order-row`, `order-filter` (`data-filter`), `order-status` (`data-status` = draft,
//!   signed, queued, registered, rejected, canceled), `reject-reason`, `order-charge`,
//!   `reorder`, `edit-order`, `order-sign`, `order-number`
//! - PDF panel (signed order, daily closing): `pdf-panel`, `pdf-preview` (shows/hides
//!   `pdf-frame`), `export-pdf` (save), `pdf-path`, `pdf-open`
//! - charge form: `charge-third-party`, `charge-phone`, `charge-payer-name`,
//!   `charge-orderer-name`, `charge-orderer-phone`, `charge-amount`, `amount-order`,
//!   `amount-balance`, `charge-goods`, `charge-installments` (the switch's label: click it;
//!   `data-checked` = true|false; the checkbox itself is `#charge-installments`), `charge-send`
//! - charge timeline / payment detail: `charge-status` (`data-status`), `virtual-number`,
//!   `timeline-step` (`data-status`, class `done`/`current`), `text-failed`, `charge-cancel`,
//!   `charge-resend`, `refund-reason`, `charge-refund`, `receipt-link`, `approval-number`,
//!   `new-charge`
//! - payments: `payment-row`, `payment-filter` (`data-filter`)
//! - daily closing: `closing-date`, `closing-row`, `closing-status-row`, `closing-total`,
//!   `closing-print`, `closing-collection-row` (`data-method`), `closing-collection-total`
//! - sync problems: `problem-row`, `problem-retry`, `problem-discard`, `problem-open`
//! - settings: `lang-ko`, `lang-en`, `server-url`, `sync-now`, `sign-out`, `sign-out-note`,
//!   `open-test-phone`, `app-version`
//! - first sign-in (new password): `pw-current`, `pw-new`, `pw-confirm`, `pw-submit`
//! - manager (only for the manager role): `nav-manager` (More row / sidebar), hub rows
//!   `mgr-team`, `mgr-payments`, `mgr-settlement`, `mgr-integration`, `mgr-settings`;
//!   `manager-offline` (no connection), `manager-only` (not a manager);
//!   `confirm-action` / `confirm-cancel` (the second step of a risky button)
//! - team: `team-date`, `team-row` (`data-id`, `data-login`, `data-active`, `data-role`),
//!   `rep-login`, `rep-name`, `rep-role` (`data-role` = rep|manager), `rep-add`,
//!   `one-time-password` (`data-for` = login), `secret-dismiss`, `rep-reset`, `rep-deactivate`
//! - all payments: `filter-rep`, `filter-status`, `filter-card`, `filter-date`, `filter-clear`,
//!   `mpay-row` (`data-id`, `data-status`), `mpay-detail`, `refund-reason`, `refund-amount`,
//!   `mpay-refund`, `mpay-resend`, `refunded-amount`, `load-more`
//! - settlement: `settle-mode` (`data-mode` = day|month), `settle-date`, `settle-month`,
//!   `settle-row`, `settle-total`, `export-csv`, `csv-path`, and the PDF panel
//! - integration: `key-name`, `key-create`, `api-key-secret`, `key-row` (`data-id`,
//!   `data-revoked`), `key-revoke`, `webhook-url`, `delivery-row` (`data-status`), `link-key`
//! - merchant settings: `setting-row` (`data-setting`, `data-editable`), `setting-input`
//!   (`data-setting`), `settings-save`

// Shell and navigation.
pub const SCREEN: &str = "screen";
pub const NAV_HOME: &str = "nav-home";
pub const NAV_CLIENTS: &str = "nav-clients";
pub const NAV_ORDERS: &str = "nav-orders";
pub const NAV_PAYMENTS: &str = "nav-payments";
pub const NAV_MORE: &str = "nav-more";
pub const NAV_CLOSING: &str = "nav-closing";
pub const NAV_PROBLEMS: &str = "nav-problems";
pub const NAV_SETTINGS: &str = "nav-settings";
pub const BACK: &str = "back";
pub const SYNC_BADGE: &str = "sync-badge";
pub const TOAST: &str = "toast";
pub const LOADING: &str = "loading";
pub const EMPTY: &str = "empty";
pub const ERROR: &str = "error";
pub const RETRY: &str = "retry";

// Forms.
pub const FIELD_ERROR: &str = "field-error";
pub const FORM_ERROR: &str = "form-error";

// Sign-in.
pub const SIGNIN_SERVER: &str = "signin-server";
pub const SIGNIN_MERCHANT: &str = "signin-merchant";
pub const SIGNIN_REP: &str = "signin-rep";
pub const SIGNIN_PASSWORD: &str = "signin-password";
pub const SIGNIN_SUBMIT: &str = "signin-submit";
pub const SANDBOX_START: &str = "sandbox-start";

// Home.
pub const HOME_COLLECTED: &str = "home-collected";
pub const HOME_ORDERS_TODAY: &str = "home-orders-today";
pub const HOME_PENDING: &str = "home-pending";
/// Today's route on home: a visit (`data-id`, `data-account`, `data-located`), a client with
/// orders today not visited yet (`data-account`).
pub const ROUTE_VISIT: &str = "route-visit";
pub const ROUTE_ORDER_CLIENT: &str = "route-order-client";
/// The client page's check-in: the button, the note, confirm; a visit row (`data-id`,
/// `data-open` while not checked out) and its check-out button.
pub const CHECK_IN: &str = "check-in";
pub const VISIT_NOTE: &str = "visit-note";
pub const CHECK_IN_CONFIRM: &str = "check-in-confirm";
pub const VISIT_ROW: &str = "visit-row";
pub const CHECK_OUT: &str = "check-out";
/// The order screen's "send by text": the phone, the two sends, a history row (`data-id`,
/// `data-kind`, `data-status`).
pub const SHARE_PHONE: &str = "share-phone";
pub const SHARE_PO: &str = "share-po";
pub const SHARE_RECEIPT: &str = "share-receipt";
pub const SHARE_ROW: &str = "share-row";
pub const PENDING_ROW: &str = "pending-row";
pub const QUICK_NEW_ORDER: &str = "quick-new-order";
pub const QUICK_COLLECT: &str = "quick-collect";
pub const QUICK_CLIENTS: &str = "quick-clients";
pub const QUICK_CLOSING: &str = "quick-closing";

// Clients.
pub const ACCOUNT_SEARCH: &str = "account-search";
pub const ACCOUNT_ROW: &str = "account-row";
/// The client list while the search box is empty: the list (`data-sort`), its rows, the
/// sort switch (`data-sort` = recent | name | balance), "more", a row's last dealing
/// (`data-today`).
pub const CLIENT_LIST: &str = "client-list";
pub const CLIENT_ROW: &str = "client-row";
/// The order editor's usual items of the client (before typing), and a row's order count.
pub const USUAL_ITEMS: &str = "usual-items";
pub const TIMES_ORDERED: &str = "times-ordered";
pub const CLIENT_SORT: &str = "client-sort";
pub const CLIENT_MORE: &str = "client-more";
pub const SERVER_SEARCH: &str = "server-search";
pub const SERVER_SEARCH_BUTTON: &str = "server-search-button";
pub const SERVER_ROW: &str = "server-row";
pub const SERVER_ROW_WHOSE: &str = "server-row-whose";
pub const CLIENT_LAST: &str = "client-last";
pub const ACCOUNT_BALANCE: &str = "account-balance";
pub const ACCOUNT_NAME: &str = "account-name";
pub const ACCOUNT_CREDIT_LIMIT: &str = "account-credit-limit";
pub const ACCOUNT_CREDIT_AVAILABLE: &str = "account-credit-available";
pub const AGING_0_30: &str = "aging-0-30";
pub const AGING_31_60: &str = "aging-31-60";
pub const AGING_61_90: &str = "aging-61-90";
pub const AGING_OVER_90: &str = "aging-over-90";
pub const NEW_ORDER: &str = "new-order";
/// The client page's "반품 등록" (a return naming no original order).
pub const NEW_RETURN: &str = "new-return";
/// An order's "반품" (a return of that order).
pub const START_RETURN: &str = "start-return";
/// A return line's reason chooser.
pub const LINE_REASON: &str = "line-reason";
/// The "반품" mark of a return (editor, order screen, lists).
pub const RETURN_BADGE: &str = "return-badge";
/// A return's original order number.
pub const RETURN_OF: &str = "return-of";
pub const COLLECT: &str = "collect";
pub const RECORD_COLLECTION: &str = "record-collection";
pub const COLLECTION_ROW: &str = "collection-row";
pub const LEDGER_ROW: &str = "ledger-row";
pub const COL_VOID: &str = "col-void";
pub const COL_VOID_REASON: &str = "col-void-reason";
pub const COL_VOID_CONFIRM: &str = "col-void-confirm";

// Collection form.
pub const COL_METHOD: &str = "col-method";
pub const COL_AMOUNT: &str = "col-amount";
pub const COL_MEMO: &str = "col-memo";
pub const COL_NOTE_NUMBER: &str = "col-note-number";
pub const COL_NOTE_BANK: &str = "col-note-bank";
pub const COL_NOTE_DUE: &str = "col-note-due";
pub const COL_NEXT: &str = "col-next";
pub const COL_SUMMARY: &str = "col-summary";
pub const COL_EDIT: &str = "col-edit";
pub const COL_CONFIRM: &str = "col-confirm";
pub const COL_RESULT: &str = "col-result";
pub const COL_BACK: &str = "col-back";
pub const CALL_CLIENT: &str = "call-client";

// Order.
pub const PRODUCT_SEARCH: &str = "product-search";
pub const PRODUCT_ROW: &str = "product-row";
pub const PRODUCT_ADD: &str = "product-add";
pub const LINE_ROW: &str = "line-row";
pub const QTY_MINUS: &str = "qty-minus";
pub const QTY_INPUT: &str = "qty-input";
pub const QTY_PLUS: &str = "qty-plus";
pub const LINE_REMOVE: &str = "line-remove";
pub const LINE_TOTAL: &str = "line-total";
pub const ORDER_SUPPLY: &str = "order-supply";
pub const ORDER_VAT: &str = "order-vat";
pub const ORDER_TOTAL: &str = "order-total";
pub const CREDIT_WARNING: &str = "credit-warning";
pub const ORDER_MEMO: &str = "order-memo";
pub const SAVE_DRAFT: &str = "save-draft";
pub const TO_SIGN: &str = "to-sign";

// Signature.
pub const SIGN_CANVAS: &str = "sign-canvas";
pub const SIGNER_NAME: &str = "signer-name";
pub const SIGN_UNDO: &str = "sign-undo";
pub const SIGN_CLEAR: &str = "sign-clear";
pub const SIGN_CONFIRM: &str = "sign-confirm";
pub const STROKE_COUNT: &str = "stroke-count";

// Order view and purchase orders.
pub const ORDER_ROW: &str = "order-row";
pub const ORDER_FILTER: &str = "order-filter";
pub const ORDER_STATUS: &str = "order-status";
pub const ORDER_NUMBER: &str = "order-number";
pub const REJECT_REASON: &str = "reject-reason";
pub const EXPORT_PDF: &str = "export-pdf";
pub const PDF_PATH: &str = "pdf-path";
pub const PDF_PANEL: &str = "pdf-panel";
pub const PDF_PREVIEW: &str = "pdf-preview";
pub const PDF_FRAME: &str = "pdf-frame";
pub const PDF_OPEN: &str = "pdf-open";
pub const ORDER_CHARGE: &str = "order-charge";
pub const REORDER: &str = "reorder";
pub const EDIT_ORDER: &str = "edit-order";
pub const ORDER_SIGN: &str = "order-sign";
/// The signature screen's full document (parties, every line, totals) and its parts.
pub const SIGN_DOC: &str = "sign-doc";
pub const SIGN_SUPPLIER: &str = "sign-supplier";
pub const SIGN_LINE: &str = "sign-line";
pub const SIGN_TOTAL: &str = "sign-total";
/// The signature image on a signed order.
pub const ORDER_SIGNATURE: &str = "order-signature";

// Charge form.
pub const CHARGE_THIRD_PARTY: &str = "charge-third-party";
pub const CHARGE_PHONE: &str = "charge-phone";
pub const CHARGE_PAYER_NAME: &str = "charge-payer-name";
pub const CHARGE_ORDERER_NAME: &str = "charge-orderer-name";
pub const CHARGE_ORDERER_PHONE: &str = "charge-orderer-phone";
pub const CHARGE_AMOUNT: &str = "charge-amount";
pub const AMOUNT_ORDER: &str = "amount-order";
pub const AMOUNT_BALANCE: &str = "amount-balance";
pub const CHARGE_GOODS: &str = "charge-goods";
pub const CHARGE_INSTALLMENTS: &str = "charge-installments";
pub const CHARGE_SEND: &str = "charge-send";

// Charge timeline and payment detail.
pub const CHARGE_STATUS: &str = "charge-status";
pub const VIRTUAL_NUMBER: &str = "virtual-number";
pub const TIMELINE_STEP: &str = "timeline-step";
/// A text about the charge that could not be delivered (문자 발송 실패), with the reason.
pub const TEXT_FAILED: &str = "text-failed";
pub const CHARGE_CANCEL: &str = "charge-cancel";
pub const CHARGE_RESEND: &str = "charge-resend";
pub const REFUND_REASON: &str = "refund-reason";
pub const REFUND_AMOUNT: &str = "refund-amount";
pub const REFUNDED_AMOUNT: &str = "refunded-amount";
pub const CHARGE_REFUND: &str = "charge-refund";
pub const REFUND_BY_MANAGER: &str = "refund-by-manager";
pub const RECEIPT_LINK: &str = "receipt-link";
pub const APPROVAL_NUMBER: &str = "approval-number";
pub const NEW_CHARGE: &str = "new-charge";

// Payments.
pub const PAYMENT_ROW: &str = "payment-row";
pub const PAYMENT_FILTER: &str = "payment-filter";

// Daily closing.
pub const CLOSING_DATE: &str = "closing-date";
pub const CLOSING_ROW: &str = "closing-row";
pub const CLOSING_STATUS_ROW: &str = "closing-status-row";
pub const CLOSING_TOTAL: &str = "closing-total";
pub const CLOSING_COLLECTION_ROW: &str = "closing-collection-row";
pub const CLOSING_COLLECTION_TOTAL: &str = "closing-collection-total";
pub const CLOSING_PRINT: &str = "closing-print";

// Sync problems.
pub const PROBLEM_ROW: &str = "problem-row";
pub const PROBLEM_RETRY: &str = "problem-retry";
pub const PROBLEM_DISCARD: &str = "problem-discard";
pub const PROBLEM_OPEN: &str = "problem-open";

// Settings.
pub const LANG_KO: &str = "lang-ko";
pub const LANG_EN: &str = "lang-en";
pub const SERVER_URL: &str = "server-url";
pub const SYNC_NOW: &str = "sync-now";
pub const SIGN_OUT: &str = "sign-out";
/// Settings: unsent actions stay with this account (shown while some are queued).
pub const SIGN_OUT_NOTE: &str = "sign-out-note";
pub const OPEN_TEST_PHONE: &str = "open-test-phone";
pub const APP_VERSION: &str = "app-version";

// First sign-in: a new password.
pub const PW_CURRENT: &str = "pw-current";
pub const PW_NEW: &str = "pw-new";
pub const PW_CONFIRM: &str = "pw-confirm";
pub const PW_SUBMIT: &str = "pw-submit";

// Manager.
pub const NAV_MANAGER: &str = "nav-manager";
pub const MGR_TEAM: &str = "mgr-team";
pub const MGR_PAYMENTS: &str = "mgr-payments";
pub const MGR_SETTLEMENT: &str = "mgr-settlement";
pub const MGR_INTEGRATION: &str = "mgr-integration";
pub const MGR_SETTINGS: &str = "mgr-settings";
pub const MANAGER_OFFLINE: &str = "manager-offline";
pub const MANAGER_ONLY: &str = "manager-only";
pub const CONFIRM_ACTION: &str = "confirm-action";
pub const CONFIRM_CANCEL: &str = "confirm-cancel";
pub const TEAM_DATE: &str = "team-date";
pub const TEAM_ROW: &str = "team-row";
/// The manager's visits of the team's day: the rep filter, a visit row (`data-id`, `data-rep`).
pub const MVISIT_REP: &str = "mvisit-rep";
pub const MVISIT_ROW: &str = "mvisit-row";
pub const REP_LOGIN: &str = "rep-login";
pub const REP_NAME: &str = "rep-name";
pub const REP_ROLE: &str = "rep-role";
pub const REP_ADD: &str = "rep-add";
pub const ONE_TIME_PASSWORD: &str = "one-time-password";
pub const SECRET_DISMISS: &str = "secret-dismiss";
pub const REP_RESET: &str = "rep-reset";
pub const REP_DEACTIVATE: &str = "rep-deactivate";
pub const FILTER_REP: &str = "filter-rep";
pub const FILTER_STATUS: &str = "filter-status";
pub const FILTER_CARD: &str = "filter-card";
pub const FILTER_DATE: &str = "filter-date";
pub const FILTER_CLEAR: &str = "filter-clear";
pub const MPAY_ROW: &str = "mpay-row";
pub const MPAY_DETAIL: &str = "mpay-detail";
pub const MPAY_REFUND: &str = "mpay-refund";
pub const MPAY_RESEND: &str = "mpay-resend";
pub const LOAD_MORE: &str = "load-more";
pub const SETTLE_MODE: &str = "settle-mode";
pub const SETTLE_DATE: &str = "settle-date";
pub const SETTLE_MONTH: &str = "settle-month";
pub const SETTLE_ROW: &str = "settle-row";
pub const SETTLE_TOTAL: &str = "settle-total";
pub const EXPORT_CSV: &str = "export-csv";
pub const CSV_PATH: &str = "csv-path";
pub const KEY_NAME: &str = "key-name";
pub const KEY_CREATE: &str = "key-create";
pub const API_KEY_SECRET: &str = "api-key-secret";
pub const KEY_ROW: &str = "key-row";
pub const KEY_REVOKE: &str = "key-revoke";
pub const WEBHOOK_URL: &str = "webhook-url";
pub const DELIVERY_ROW: &str = "delivery-row";
pub const LINK_KEY: &str = "link-key";
/// Make a new payment-link key; the new key shown once.
pub const LINK_KEY_ROTATE: &str = "link-key-rotate";
pub const LINK_KEY_SECRET: &str = "link-key-secret";
pub const SETTING_ROW: &str = "setting-row";
pub const SETTING_INPUT: &str = "setting-input";
pub const SETTINGS_SAVE: &str = "settings-save";
