//! The web pages for people (server-rendered HTML, no framework): the pay page of a payment
//! link, its "주문 등록 완료" and result views, the agent (CRM) page, the error pages and the
//! receipt. [`layout`] is the one page chrome they all share (style, icons, language, headers).

pub mod layout;
