//! Every UI string, in Korean (default) and English. The language is a signal, remembered in
//! localStorage (`fieldpay.lang`).

use std::cell::Cell;

use fieldpay_protocol::charge::ChargeStatus;
use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ko,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }
}

const STORAGE_KEY: &str = "fieldpay.lang";

thread_local! {
    static LANG: Cell<Option<RwSignal<Lang>>> = const { Cell::new(None) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Creates the language signal from localStorage (Korean when nothing is stored).
pub fn init() -> RwSignal<Lang> {
    let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let lang = match stored.as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Ko,
    };
    let sig = RwSignal::new(lang);
    LANG.with(|c| c.set(Some(sig)));
    set_document_lang(lang);
    sig
}

fn set_document_lang(lang: Lang) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("lang", lang.code());
    }
}

/// The current language (tracked: a view that calls it re-renders on change).
pub fn lang() -> Lang {
    LANG.with(|c| c.get()).map(|s| s.get()).unwrap_or(Lang::Ko)
}

/// Switches and remembers the language.
pub fn set_lang(lang: Lang) {
    if let Some(s) = LANG.with(|c| c.get()) {
        s.set(lang);
    }
    if let Some(st) = storage() {
        let _ = st.set_item(STORAGE_KEY, lang.code());
    }
    set_document_lang(lang);
}

/// The text of a key in the current language (tracked).
pub fn tr(key: T) -> &'static str {
    key.text(lang())
}

/// A reactive text: `{t(T::Home)}` in a view, or as an attribute value.
pub fn t(key: T) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || key.text(lang())
}

/// A return line's reason (반품 사유) in the current language.
pub fn return_reason(r: fieldpay_protocol::records::ReturnReason) -> &'static str {
    match lang() {
        Lang::Ko => r.label_ko(),
        Lang::En => r.label_en(),
    }
}

/// Picks the Korean or English variant of a formatted text.
pub fn pick(ko: String, en: String) -> String {
    match lang() {
        Lang::Ko => ko,
        Lang::En => en,
    }
}

macro_rules! texts {
    ($($key:ident => $ko:literal, $en:literal;)*) => {
        /// Text keys.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum T { $($key),* }

        impl T {
            pub fn text(self, lang: Lang) -> &'static str {
                match lang {
                    Lang::Ko => match self { $(T::$key => $ko),* },
                    Lang::En => match self { $(T::$key => $en),* },
                }
            }
        }
    };
}

texts! {
    // Common.
    AppName => "FieldPay", "FieldPay";
    Loading => "불러오는 중…", "Loading…";
    Retry => "다시 시도", "Try again";
    Back => "뒤로", "Back";
    Cancel => "취소", "Cancel";
    Close => "닫기", "Close";
    LoadFailed => "불러오지 못했습니다", "Could not load";
    ShellRefused => "처리하지 못했습니다", "Not done";
    NoShell => "앱 셸에 연결되지 않았습니다. FieldPay 앱에서 실행하세요.", "Not connected to the app shell. Run this inside the FieldPay app.";
    Required => "입력하세요", "Required";
    Working => "처리 중…", "Working…";
    Open => "열기", "Open";
    Count => "건", " items";
    None_ => "없음", "None";

    // Navigation.
    NavHome => "홈", "Home";
    NavClients => "거래처", "Clients";
    NavOrders => "주문", "Orders";
    NavPayments => "결제", "Payments";
    NavMore => "더보기", "More";
    NavClosing => "일일 마감", "Daily closing";
    NavProblems => "동기화 문제", "Sync problems";
    NavSettings => "설정", "Settings";

    // Sync badge.
    SyncOnline => "온라인", "Online";
    SyncOffline => "오프라인", "Offline";
    SyncSyncing => "동기화 중", "Syncing";
    SyncQueued => "전송 대기", "queued";
    SyncProblemsShort => "문제", "problems";
    OfflineBanner => "오프라인 — 작업은 이 기기에 저장되고 연결되면 전송됩니다", "Offline — your work is kept on this device and sent when connected";
    SortRecent => "최근 거래순", "Recent";
    SortName => "이름순", "Name";
    SortBalance => "잔액순", "Balance";
    ShowMore => "더 보기", "Show more";
    LastDealt => "최근 거래", "Last dealt";
    Today => "오늘", "Today";
    UsualItems => "자주 주문한 품목", "Usual items";
    ProductSearchStart => "품목명이나 코드(초성도 됩니다)로 찾아 담으세요", "Find products by name or code (initials work too)";
    TitlePaymentDetail => "결제 상세", "Payment detail";

    // Screen titles.
    TitleSignIn => "로그인", "Sign in";
    TitleHome => "홈", "Home";
    TitleClients => "거래처", "Clients";
    TitleClient => "거래처 정보", "Client";
    TitleNewOrder => "새 주문", "New order";
    TitleEditOrder => "주문 작성", "Edit order";
    TitleNewReturn => "반품 등록", "New return";
    TitleEditReturn => "반품 작성", "Edit return";
    TitleReturn => "반품서", "Return";
    ShareReturnPdf => "반품서 PDF 링크", "Return PDF link";
    TitleSign => "서명받기", "Signature";
    TitleOrder => "발주서", "Purchase order";
    TitleOrders => "발주서 조회", "Purchase orders";
    TitleCharge => "ARS 결제 요청", "ARS payment request";
    TitleChargeView => "결제 진행", "Payment";
    TitlePayments => "결제 내역", "Payments";
    TitleClosing => "일일 마감", "Daily closing";
    TitleProblems => "동기화 문제", "Sync problems";
    TitleSettings => "설정", "Settings";
    TitleMore => "더보기", "More";

    // Sign-in.
    SignInLead => "현장 영업을 위한 가상 ARS 카드 결제", "Card payments by virtual ARS number, for field sales";
    ServerAddress => "서버 주소", "Server address";
    Merchant => "가맹점 ID", "Merchant ID";
    RepId => "영업사원 ID", "Rep ID";
    Password => "비밀번호", "Password";
    SignInButton => "로그인", "Sign in";
    SigningIn => "로그인 중…", "Signing in…";
    Or => "또는", "or";
    TrySandbox => "샌드박스로 체험하기", "Try sandbox";
    TrySandboxSub => "데모 거래처와 상품으로 바로 시작합니다 (실제 결제 없음)", "Start at once with demo clients and products (no real payments)";
    StartingSandbox => "샌드박스를 시작하는 중…", "Starting the sandbox…";
    ErrServerUrl => "https:// 로 시작하는 주소를 입력하세요 (http:// 는 이 기기의 서버에만)", "Enter an address starting with https:// (http:// only for a server on this device)";

    // Home.
    TodayCollected => "오늘 수금", "Collected today";
    TodayOrders => "오늘 주문", "Orders today";
    TodayRoute => "오늘의 동선", "Today's route";
    NoRouteYet => "오늘 방문이나 주문이 아직 없습니다", "No visits or orders yet today";
    OrderedToday => "오늘 주문한 거래처", "Ordered today";
    NotVisited => "방문 기록 없음", "Not checked in";
    CheckIn => "방문 체크인", "Check in";
    CheckInConfirm => "체크인", "Check in now";
    CheckOut => "체크아웃", "Check out";
    CheckedIn => "체크인했습니다", "Checked in";
    CheckedOut => "체크아웃했습니다", "Checked out";
    VisitNote => "메모 (선택)", "Note (optional)";
    VisitNoteHint => "상담 내용, 다음 방문 약속 등", "What was discussed, next visit";
    RecentVisits => "최근 방문", "Recent visits";
    NoVisitsYet => "방문 기록이 없습니다", "No visits yet";
    Located => "위치 기록됨", "Location recorded";
    Visits => "방문 기록", "Visits";
    InProgress => "방문 중", "In progress";
    ShareByText => "문자로 보내기", "Send by text";
    ShareHint => "거래처 휴대폰으로 링크를 보냅니다 (온라인일 때)", "Texts a link to the client's mobile (when online)";
    ShareTo => "받는 번호", "To (mobile)";
    SharePo => "발주서 PDF 링크", "Purchase order PDF link";
    ShareReceipt => "영수증 링크", "Receipt link";
    ShareSent => "문자 발송을 요청했습니다", "Text queued to be sent";
    ShareHistory => "보낸 문자", "Texts sent";
    ShareStatusSent => "발송됨", "Sent";
    ShareStatusFailed => "발송 실패", "Failed";
    ShareStatusPending => "발송 대기", "Queued";
    PendingCharges => "결제 대기", "Pending payments";
    QuickActions => "바로 가기", "Quick actions";
    QuickNewOrder => "새 주문", "New order";
    QuickCollect => "수금", "Collect";
    QuickClients => "거래처 찾기", "Find a client";
    QuickClosing => "일일 마감", "Daily closing";
    NoPending => "대기 중인 결제 요청이 없습니다", "No pending payment requests";
    SandboxBanner => "샌드박스 모드 — 실제 결제가 일어나지 않습니다", "Sandbox mode — no real payments happen";
    CollectPick => "수금할 거래처를 고르세요", "Pick the client to collect from";

    // Clients.
    SearchClientsHint => "상호·초성·전화번호·사업자번호", "Name, initials, phone, business no.";
    SearchStart => "상호, 초성(예: ㅎㅂㅇㄱ), 전화번호, 사업자번호로 찾으세요", "Search by name, initials (e.g. ㅎㅂㅇㄱ), phone or business number";
    NoResults => "검색 결과가 없습니다", "No results";
    SearchServer => "서버에서 다른 담당 거래처 찾기", "Find other reps' clients on the server";
    SearchServerHint => "이 기기에는 내 담당 거래처만 있습니다. 인터넷 연결이 필요합니다.", "This device keeps your own clients only. Needs a connection.";
    NoServerResults => "서버에서도 찾지 못했습니다", "Not found on the server either";
    ServerResults => "서버 검색 결과", "Found on the server";
    YourClient => "내 담당", "Yours";
    OtherRepsClient => "다른 담당", "Another rep's";
    UnassignedClient => "담당 없음", "Unassigned";
    Balance => "미수 잔액", "Balance";
    ClosedAccount => "거래 종료", "Closed";

    // Client page.
    Aging => "미수 경과", "Aging";
    Aging0_30 => "30일 이내", "0–30 days";
    Aging31_60 => "31–60일", "31–60 days";
    Aging61_90 => "61–90일", "61–90 days";
    AgingOver90 => "90일 초과", "Over 90 days";
    CreditLimit => "여신 한도", "Credit limit";
    CreditAvailable => "사용 가능 한도", "Available credit";
    RecentOrders => "최근 주문", "Recent orders";
    RecentPayments => "최근 결제", "Recent payments";
    NewOrder => "새 주문", "New order";
    Collect => "카드 결제 요청", "Card payment";
    RecordCollection => "수금 등록", "Record collection";
    TitleCollection => "수금 등록", "Record a collection";
    Collections => "수금 내역", "Collections";
    NoCollectionsYet => "수금 내역이 없습니다", "No collections yet";
    ColMethod => "수금 방법", "Method";
    ColCash => "현금", "Cash";
    ColTransfer => "계좌이체", "Bank transfer";
    ColNote => "어음", "Promissory note";
    ColAmount => "수금액", "Amount received";
    ColMemo => "메모 (선택)", "Memo (optional)";
    ColNoteNumber => "어음번호", "Note number";
    ColNoteBank => "지급은행", "Paying bank";
    ColNoteDue => "만기일", "Due date";
    ColNext => "확인", "Review";
    ColConfirmTitle => "이 내용으로 수금을 등록할까요?", "Record this collection?";
    ColConfirm => "수금 등록", "Record";
    ColEdit => "고치기", "Change";
    ColReceiptNote => "거래처 휴대폰으로 수금 영수증 문자가 갑니다.", "The client gets a receipt by text.";
    ColBalanceAfter => "수금 후 미수금", "Balance after";
    ColSaved => "수금을 등록했습니다", "Collection recorded";
    ColSavedOffline => "서버 연결 후 자동으로 전송됩니다. 미수금에는 바로 반영했습니다.", "It is sent when the server can be reached; the balance already shows it.";
    ColBackToClient => "거래처로 돌아가기", "Back to the client";
    ColPending => "전송 대기", "Pending";
    ColSynced => "등록됨", "Recorded";
    ColRejected => "거절됨", "Refused";
    ColVoided => "취소됨", "Voided";
    ColVoid => "취소", "Void";
    ColVoidReason => "취소 사유", "Reason";
    ColVoidConfirm => "취소 확정", "Confirm void";
    ColVoidDone => "수금을 취소했습니다", "Collection voided";
    ColPendingNote => "전송 대기 중인 수금이 미수금에 먼저 반영되어 있습니다", "Pending collections already count in the balance";
    ErrColAmount => "수금액을 입력하세요 (1원 ~ 1억원)", "Enter an amount (1 to 100,000,000 won)";
    ErrColNoteNumber => "어음번호를 입력하세요 (영문, 숫자, -)", "Enter the note number (letters, digits, -)";
    ErrColNoteBank => "지급은행을 입력하세요", "Enter the paying bank";
    ErrColNoteDue => "만기일을 선택하세요 (오늘부터 1년 안)", "Pick the due date (within a year)";
    ErrColVoidReason => "취소 사유를 입력하세요", "Enter a reason";
    ByMethod => "수금 (현금·계좌이체·어음)", "Collections (cash, transfer, note)";
    NoCollections => "수금 없음", "No collections";
    LedgerOrder => "주문", "Order";
    LedgerPayment => "카드 결제", "Card payment";
    LedgerRefund => "환불", "Refund";
    LedgerAdjustment => "조정", "Adjustment";
    LedgerCollection => "수금", "Collection";
    LedgerReturn => "반품", "Return";
    NewReturn => "반품 등록", "Return goods";
    StartReturn => "반품", "Return goods";
    ReturnBadge => "반품", "Return";
    ReturnHint => "반품서: 서버가 접수하면 반품 금액만큼 미수금이 줄어듭니다.", "Return: once the server accepts it, its total comes off the receivables.";
    ReturnOf => "원 주문", "Original order";
    ReturnReasonLabel => "반품 사유", "Reason";
    ReturnReasonPick => "사유 선택", "Pick a reason";
    ErrReturnReason => "품목마다 반품 사유를 고르세요", "Pick a reason for every item";
    ReturnTotal => "반품 합계", "Return total";
    PdfTitleReturn => "반품서 PDF", "Return PDF";
    LedgerCollectionVoid => "수금 취소", "Collection voided";
    Owner => "대표자", "Owner";
    Phone => "전화", "Phone";
    BusinessNo => "사업자번호", "Business no.";
    Address => "주소", "Address";
    Code => "코드", "Code";
    Call => "전화 걸기", "Call";
    NoOrdersYet => "주문이 없습니다", "No orders yet";
    NoPaymentsYet => "결제가 없습니다", "No payments yet";

    // Order.
    PickClient => "주문할 거래처를 고르세요", "Pick the client for this order";
    Client => "거래처", "Client";
    ProductSearchHint => "품목명, 코드, 초성 검색", "Search products by name, code, initials";
    AddProduct => "담기", "Add";
    Lines => "주문 품목", "Items";
    NoLines => "아직 담은 품목이 없습니다. 위에서 검색해 담으세요.", "No items yet. Search above and add some.";
    UnitPrice => "단가", "Unit price";
    Qty => "수량", "Qty";
    Remove => "삭제", "Remove";
    Supply => "공급가액", "Supply";
    Vat => "부가세", "VAT";
    Total => "합계", "Total";
    Supplier => "공급자", "Supplier";
    Buyer => "공급받는 자", "Buyer";
    LineAmount => "금액", "Amount";
    CreditOk => "여신 한도 내", "Within credit limit";
    CreditWarn => "한도 초과 (등록은 됩니다)", "Over the limit (still accepted)";
    CreditBlock => "한도 초과 (등록 불가)", "Over the limit (refused)";
    OverBy => "초과", "over by";
    Memo => "메모", "Memo";
    MemoHint => "배송 요청 등", "Delivery notes, etc.";
    SaveDraft => "임시 저장", "Save draft";
    DraftSaved => "임시 저장했습니다", "Draft saved";
    ToSign => "서명받기", "Get signature";
    ErrNoLines => "품목을 하나 이상 담으세요", "Add at least one item";
    ErrCreditBlock => "여신 한도를 넘어 이 주문은 등록할 수 없습니다", "This order is over the credit limit and cannot be registered";

    // Signature.
    SignHere => "아래 칸에 손가락이나 펜으로 서명해 주세요", "Sign below with a finger or pen";
    SignerName => "서명인 이름", "Signer's name";
    Undo => "되돌리기", "Undo";
    Clear => "지우기", "Clear";
    ConfirmSign => "서명 완료 · 발주 등록", "Confirm signature & submit";
    ErrNoStrokes => "서명을 해 주세요", "Please sign";
    ErrSignerName => "서명인 이름을 입력하세요", "Enter the signer's name";
    Strokes => "획", "strokes";
    Submitted => "발주서를 등록했습니다", "Purchase order submitted";

    // Order view / purchase orders.
    OrderNumber => "발주 번호", "Order no.";
    NotNumbered => "번호 대기", "Number pending";
    StDraft => "임시 저장", "Draft";
    StSigned => "서명 완료", "Signed";
    StQueued => "전송 대기", "Queued";
    StRegistered => "등록", "Registered";
    StRejected => "반려", "Rejected";
    StCanceled => "취소", "Canceled";
    RejectReason => "반려 사유", "Reason";
    SignedBy => "서명", "Signed by";
    PdfPreview => "PDF 미리보기", "Preview PDF";
    PdfHide => "미리보기 닫기", "Close preview";
    ExportPdf => "PDF 저장", "Save PDF";
    PdfOpen => "PDF 열기", "Open PDF";
    PdfSaved => "저장 위치", "Saved to";
    PdfTitleOrder => "발주서 PDF", "Purchase order PDF";
    PdfTitleClosing => "일일 마감 PDF", "Daily closing PDF";
    RequestCharge => "결제 요청", "Request payment";
    Reorder => "재주문", "Reorder";
    ReorderFrom => "지난 주문 그대로 다시 주문", "Reorder a past order";
    Edit => "수정", "Edit";
    CreatedAt => "작성", "Created";
    NoOrders => "발주서가 없습니다", "No purchase orders";
    ReorderMade => "이전 주문으로 새 주문을 만들었습니다", "A new order was made from the past one";
    QueuedNote => "오프라인입니다. 연결되면 자동으로 전송됩니다.", "Offline. It will be sent automatically when connected.";

    // Charge form.
    PayerSelf => "거래처가 결제", "Client pays";
    ThirdParty => "다른 사람이 결제", "Someone else pays";
    PayerPhone => "결제자 휴대폰", "Payer's mobile";
    PayerName => "결제자 이름 (선택)", "Payer's name (optional)";
    OrdererName => "주문자 이름", "Orderer's name";
    OrdererPhone => "주문자 전화", "Orderer's phone";
    Amount => "결제 금액", "Amount";
    AmountOrder => "주문 금액", "Order total";
    AmountBalance => "미수 잔액", "Balance";
    Goods => "상품명", "Goods";
    Installments => "할부 허용", "Allow installments";
    InstallmentsHint => "5만 원 이상부터 할부를 고를 수 있습니다", "Installments are offered from 50,000 KRW";
    Send => "결제 요청 보내기", "Send payment request";
    Sending => "요청 중…", "Sending…";
    DigitsOnly => "숫자만 입력", "Digits only";
    ErrPhone => "휴대폰 번호를 확인하세요 (예: 010-1234-5678)", "Check the mobile number (e.g. 010-1234-5678)";
    ErrAmountZero => "1원 이상 금액을 입력하세요", "Enter an amount of at least 1 KRW";
    ErrAmountMax => "1억 원 이하로 입력하세요", "Enter at most 100,000,000 KRW";
    ErrGoods => "상품명을 입력하세요", "Enter the goods name";
    ErrOrdererName => "주문자 이름을 입력하세요", "Enter the orderer's name";
    ErrOrdererPhone => "주문자 전화번호를 확인하세요", "Check the orderer's phone number";
    ActRecordCollection => "수금 등록", "Record collection";
    GoodsCollect => "미수금 결제", "Outstanding balance";
    GoodsMore => "외", "and";
    ThirdPartyNote => "결제자에게 주문자 이름과 번호가 함께 안내됩니다", "The payer is told who ordered";

    // Charge view.
    VirtualNumber => "결제 전화번호 (가상 ARS)", "Payment number (virtual ARS)";
    VirtualNumberHint => "결제자가 문자로 받은 이 번호로 전화해 카드로 결제합니다", "The payer calls this number from the text and pays by card";
    Timeline => "진행 상황", "Progress";
    TextFailed => "문자 발송 실패", "Text not delivered";
    TextFailedHint => "번호를 확인하고 문자를 다시 보내세요", "Check the number and resend the text";
    CancelCharge => "결제 요청 취소", "Cancel request";
    ResendSms => "문자 다시 보내기", "Resend text";
    Refund => "결제 취소 (환불)", "Refund";
    RefundReason => "환불 사유", "Refund reason";
    RefundReasonHint => "예: 반품", "e.g. returned goods";
    RefundAmount => "환불 금액 (비우면 남은 금액 전부)", "Amount to refund (empty: all that remains)";
    RefundedSoFar => "환불된 금액", "Refunded so far";
    RefundAmountInvalid => "환불 금액은 숫자로 적어 주세요", "Type the amount to refund in digits";
    RefundByManager => "환불(부분 환불 포함)은 관리자가 관리 메뉴의 전체 결제에서 합니다", "Refunds, whole or part, are made by a manager (Manage, All payments)";
    ApprovalNo => "승인번호", "Approval no.";
    Card => "카드", "Card";
    Installment => "할부", "Installment";
    Lump => "일시불", "Lump sum";
    Months => "개월", " months";
    Receipt => "매출전표 보기", "View receipt";
    Expires => "유효 기한", "Expires";
    Payer => "결제자", "Payer";
    Orderer => "주문자", "Orderer";
    DeclineReason => "거절 사유", "Decline reason";
    Canceled => "결제 요청을 취소했습니다", "Request canceled";
    Resent => "문자를 다시 보냈습니다", "Text sent again";
    Refunded => "환불했습니다", "Refunded";
    NewCharge => "새 결제 요청", "New payment request";
    ThirdPartyBadge => "제3자 결제", "Third-party";
    Amount2 => "금액", "Amount";

    // Payments.
    FilterAll => "전체", "All";
    FilterApproved => "승인", "Approved";
    FilterPending => "진행 중", "In progress";
    FilterOther => "취소·만료", "Canceled/expired";
    NoPayments => "결제 내역이 없습니다", "No payments";

    // Daily closing.
    Date => "날짜", "Date";
    ByCardCompany => "카드사별", "By card company";
    ByStatus => "상태별 (요청 기준)", "By status (requests)";
    ByRep => "영업사원별", "By rep";
    CardCompany => "카드사", "Card company";
    Status => "상태", "Status";
    Approved => "승인", "Approved";
    RefundedCol => "취소", "Refunded";
    Net => "순매출", "Net";
    RepCol => "영업사원", "Rep";
    UnitWon => "(단위: 원)", "(KRW)";
    CountCol => "건수", "Count";
    TotalRow => "합계", "Total";
    Print => "인쇄", "Print";
    NoSales => "이 날짜의 승인 내역이 없습니다", "No approvals on this day";

    // Sync problems.
    NoProblems => "모든 작업이 서버에 반영되었습니다", "Everything reached the server";
    ActUpsertOrder => "주문 저장", "Save order";
    ActSignOrder => "발주서 서명", "Sign order";
    ActSubmitOrder => "발주 등록", "Submit order";
    ActRequestCharge => "결제 요청", "Payment request";
    ActCancelCharge => "결제 요청 취소", "Cancel payment request";
    RetrySend => "다시 보내기", "Retry";
    Discard => "버리기", "Discard";
    Reason => "사유", "Reason";
    ProblemsLead => "서버가 거절한 작업입니다. 고친 뒤 다시 보내거나 버리세요.", "The server refused these actions. Fix and retry, or discard them.";
    Retried => "다시 보냈습니다", "Sent again";
    Discarded => "버렸습니다", "Discarded";

    // Settings.
    Language => "언어", "Language";
    Korean => "한국어", "한국어 (Korean)";
    English => "English (영어)", "English";
    Server => "서버", "Server";
    SignedInAs => "로그인 계정", "Signed in as";
    SyncNow => "지금 동기화", "Sync now";
    LastSync => "마지막 동기화", "Last sync";
    SignOut => "로그아웃", "Sign out";
    SignOutKeepsQueue => "보내지 않은 작업은 이 기기에 남아, 이 계정으로 다시 로그인하면 전송됩니다. 다른 계정에는 보이지 않습니다", "Unsent actions stay on this device and are sent when this account signs in again; other accounts do not see them";
    About => "정보", "About";
    Version => "버전", "Version";
    Sandbox => "샌드박스", "Sandbox";
    OpenTestPhone => "테스트 전화 열기", "Open Test phone";
    SandboxHint => "결제자 역할을 해 볼 수 있는 가상 휴대폰 창을 엽니다", "Opens a virtual phone window to play the payer";
    Synced => "동기화했습니다", "Synced";
    AboutText => "FieldPay — 가상 ARS 번호로 받는 카드 결제와 현장 영업 앱 (오픈 소스)", "FieldPay — card payments by virtual ARS number and a field-sales app (open source)";

    // First sign-in: a new password.
    PwTitle => "새 비밀번호 설정", "Set a new password";
    PwLead => "처음 로그인하셨습니다. 받은 일회용 비밀번호 대신 쓸 새 비밀번호를 정하세요. 설정하기 전에는 다른 기능을 쓸 수 없습니다.", "This is your first sign-in. Choose a new password to replace the one-time password you were given; nothing else works until you do.";
    PwCurrent => "일회용(지금) 비밀번호", "One-time (current) password";
    PwNew => "새 비밀번호 (8자 이상)", "New password (8 characters or more)";
    PwConfirm => "새 비밀번호 확인", "Confirm the new password";
    PwSubmit => "비밀번호 변경", "Change password";
    PwTooShort => "8자 이상 입력하세요", "Use at least 8 characters";
    PwMismatch => "새 비밀번호가 서로 다릅니다", "The new passwords differ";
    PwSame => "일회용 비밀번호와 다른 비밀번호를 쓰세요", "Use a password other than the one-time one";
    PwChanged => "비밀번호를 바꿨습니다", "Password changed";

    // The manager.
    NavManager => "관리", "Management";
    TitleManager => "관리자 메뉴", "Management";
    TitleTeam => "팀 관리", "Team";
    TitleAllPayments => "전체 결제", "All payments";
    TitleSettlement => "정산", "Settlement";
    TitleIntegration => "연동 (API·웹훅)", "Integration (API, webhook)";
    TitleMerchantSettings => "가맹점 설정", "Merchant settings";
    MgrTeamSub => "영업사원별 오늘 주문·수금, 추가·비활성화·비밀번호 초기화", "Reps' orders and collections today; add, deactivate, reset passwords";
    MgrPaymentsSub => "모든 영업사원의 결제, 환불·부분 환불, 문자 재발송", "Every rep's payments; refund, partial refund, resend";
    MgrSettlementSub => "일별·월별, 카드사별·영업사원별, CSV·PDF", "By day or month, by card company and rep; CSV and PDF";
    MgrIntegrationSub => "API 키 발급·폐기, 웹훅 주소와 전송 내역", "API keys, the webhook URL and its deliveries";
    MgrSettingsSub => "운영사가 허용한 설정 변경", "Settings your operator lets you change";
    ManagerOnly => "관리자 권한이 있는 계정만 볼 수 있습니다", "Only an account with the manager role can see this";
    ManagerOffline => "관리 화면은 인터넷 연결이 필요합니다. 연결을 확인한 뒤 다시 시도하세요.", "The management screens need a connection. Check it and try again.";
    ManagerOfflineTitle => "오프라인", "Offline";
    OnlineOnlyHint => "서버에서 바로 불러옵니다 (오프라인에서는 쓸 수 없음)", "Read live from the server (not available offline)";

    // Team.
    AddRep => "영업사원 추가", "Add a rep";
    RepLogin => "로그인 ID", "Sign-in ID";
    RepLoginHint => "영문 소문자·숫자·. _ - (2~32자)", "a-z, 0-9, . _ - (2 to 32)";
    RepName => "이름", "Name";
    RoleRep => "영업사원", "Rep";
    RoleManager => "관리자", "Manager";
    Role => "권한", "Role";
    AddRepButton => "추가", "Add";
    RepAdded => "추가했습니다", "Added";
    OneTimePassword => "일회용 비밀번호", "One-time password";
    OneTimeHint => "지금 한 번만 보여 드립니다. 영업사원에게 전해 주세요. 첫 로그인 때 새 비밀번호로 바꿉니다.", "Shown this once. Hand it to the rep, who sets a new password at first sign-in.";
    ShownOnceFor => "대상", "For";
    Dismiss => "확인했습니다", "Done";
    Active => "활성", "Active";
    Inactive => "비활성", "Inactive";
    MustChange => "비밀번호 변경 대기", "Password change pending";
    OrdersToday => "주문", "Orders";
    CollectedToday => "수금", "Collected";
    ResetPassword => "비밀번호 초기화", "Reset password";
    Deactivate => "비활성화", "Deactivate";
    ConfirmQ => "정말 할까요?", "Are you sure?";
    Yes => "예", "Yes";
    Deactivated => "비활성화했습니다", "Deactivated";
    NoReps => "영업사원이 없습니다", "No reps";
    You => "나", "You";

    // All payments.
    AllReps => "모든 영업사원", "All reps";
    AllStatuses => "모든 상태", "All statuses";
    AllCards => "모든 카드사", "All card companies";
    AnyDate => "모든 날짜", "Any date";
    ClearFilters => "필터 지우기", "Clear filters";
    LoadMore => "더 보기", "Load more";
    RefundPartHint => "부분 환불: 금액을 적으세요 (비우면 남은 금액 전부)", "Partial refund: type an amount (empty: all that remains)";
    RefundReasonRequired => "환불 사유를 입력하세요", "Enter the reason for the refund";
    Refundable => "환불 가능", "Refundable";

    // Settlement.
    Day => "일별", "Day";
    Month => "월별", "Month";
    ExportCsv => "CSV 저장", "Save CSV";
    CsvSaved => "CSV 저장 위치", "CSV saved to";
    PdfTitleSettlement => "정산 PDF", "Settlement PDF";
    NoSalesPeriod => "이 기간의 승인 내역이 없습니다", "No approvals in this period";

    // Integration.
    ApiKeys => "API 키", "API keys";
    ApiKeyName => "키 이름 (용도)", "Key name (what for)";
    ApiKeyNameHint => "예: ERP 연동", "e.g. ERP";
    CreateKey => "API 키 만들기", "Create an API key";
    ApiKeySecret => "새 API 키", "New API key";
    ApiKeyOnce => "이 키는 지금 한 번만 보여 드립니다. 안전한 곳에 보관하세요.", "This key is shown this once. Keep it somewhere safe.";
    Revoke => "폐기", "Revoke";
    Revoked => "폐기됨", "Revoked";
    RevokedDone => "폐기했습니다", "Revoked";
    LastUsed => "마지막 사용", "Last used";
    NeverUsed => "없음", "never";
    NoApiKeys => "API 키가 없습니다", "No API keys";
    Webhook => "웹훅", "Webhook";
    WebhookNone => "웹훅 주소가 없습니다 (운영사에 설정을 요청하세요)", "No webhook URL (ask your operator to set one)";
    Deliveries => "최근 전송", "Recent deliveries";
    NoDeliveries => "전송 내역이 없습니다", "No deliveries";
    Attempts => "시도", "Attempts";
    DelPending => "대기", "Pending";
    DelDelivered => "전달됨", "Delivered";
    DelFailed => "실패", "Failed";
    LinkKey => "결제 링크 키", "Payment-link key";
    LinkKeyNone => "결제 링크 키가 아직 없습니다", "No payment-link key yet";
    LinkKeyMade => "만든 때", "Made";
    LinkKeyRotate => "새 링크 키 만들기", "Make a new link key";
    LinkKeyHint => "CRM이 결제 링크에 서명하는 키입니다. 새로 만들면 예전 키로 서명한 링크는 바로 열리지 않습니다.", "Your CRM signs payment links with this key. A new key stops links signed with the old one at once.";
    LinkKeySecret => "새 결제 링크 키", "New payment-link key";
    LinkKeyOnce => "이 키는 지금 한 번만 보여 드립니다. CRM 설정에 넣고 안전한 곳에 보관하세요.", "This key is shown this once. Put it in your CRM's settings and keep it safe.";

    // Merchant settings.
    SetCreditPolicy => "여신 한도 초과 주문", "Orders over the credit limit";
    PolicyWarn => "경고 후 등록", "Register with a warning";
    PolicyBlock => "거절", "Refuse";
    SetBirthDate => "결제 시 생년월일 확인", "Birth date step at payment";
    SetPassword => "결제 시 카드 비밀번호 확인", "Card password step at payment";
    SetExpiry => "결제 요청 유효 시간 (분)", "Payment request valid for (minutes)";
    SetDiscount => "수동 가격 최대 할인율 (%)", "Manual price: largest discount (%)";
    SetDiscountNone => "비우면 가격표 가격만", "Empty: price-list prices only";
    SetAutoPay => "자동 결제", "Auto-pay";
    SetInstallments => "할부", "Installments";
    On => "사용", "On";
    Off => "사용 안 함", "Off";
    OperatorOnly => "운영사만 변경", "Operator only";
    SaveSettings => "설정 저장", "Save settings";
    SettingsSaved => "저장했습니다", "Saved";
    NothingChanged => "바뀐 것이 없습니다", "Nothing changed";
    NumberInvalid => "허용 범위의 숫자로 입력하세요", "Type a number in the allowed range";
    SetAttempts => "카드 승인 시도 횟수 한도", "Card approval attempts allowed";
    SetTextsPerHour => "시간당 문자 발송 한도", "Texts per hour limit";
    NoLimit => "제한 없음", "No limit";
}

/// `3건` / `3 items`.
pub fn count(n: u64) -> String {
    pick(format!("{n}건"), format!("{n}"))
}

/// How many orders had a product: `5회 주문` / `ordered 5 times`.
pub fn times_ordered(n: u32) -> String {
    pick(
        format!("{n}회 주문"),
        if n == 1 {
            "ordered once".to_string()
        } else {
            format!("ordered {n} times")
        },
    )
}

/// The timeline label of a charge status.
pub fn charge_status(s: ChargeStatus) -> &'static str {
    match lang() {
        Lang::Ko => s.label_ko(),
        Lang::En => match s {
            ChargeStatus::Queued => "Queued",
            ChargeStatus::Requested => "Requested",
            ChargeStatus::SmsSent => "Text sent",
            ChargeStatus::CallConnected => "Call connected",
            ChargeStatus::Verified => "Caller verified",
            ChargeStatus::CardEntered => "Card entered",
            ChargeStatus::Approved => "Approved",
            ChargeStatus::Declined => "Declined",
            ChargeStatus::Expired => "Expired",
            ChargeStatus::Canceled => "Canceled",
            ChargeStatus::Refunded => "Refunded",
        },
    }
}

/// A sync-problem action name.
pub fn action(a: &str) -> String {
    let key = match a {
        "upsert_order" => T::ActUpsertOrder,
        "sign_order" => T::ActSignOrder,
        "submit_order" => T::ActSubmitOrder,
        "request_charge" => T::ActRequestCharge,
        "cancel_charge" => T::ActCancelCharge,
        "record_collection" => T::ActRecordCollection,
        other => return other.to_string(),
    };
    tr(key).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_text() {
        for key in [
            T::NavHome,
            T::TrySandbox,
            T::ErrPhone,
            T::PdfPreview,
            T::ErrServerUrl,
            T::SignOutKeepsQueue,
        ] {
            assert!(!key.text(Lang::Ko).is_empty());
            assert!(!key.text(Lang::En).is_empty());
            assert_ne!(key.text(Lang::Ko), key.text(Lang::En));
        }
    }
}
