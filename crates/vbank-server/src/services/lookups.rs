//! Merchant-scoped payment lookups (`GET /payments...`).

use crate::app::AppState;
use crate::edge::envelope::Text;
use crate::edge::{ApiError, ApiResult};
use vbank_core::{ImpUid, Payment, VbankStatus, WireStatus};
use vbank_store::{PaymentFilter, Sorting, TimeAxis};

/// The most ids one multi-lookup takes.
pub const MAX_MULTI_LOOKUP: usize = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;
const NINETY_DAYS: i64 = 90 * 86_400;

/// `?sorting=`: `-started` (default), `started`, `-paid`, `paid`, `-updated`, `updated`.
pub fn parse_sorting(text: Option<&str>) -> ApiResult<Sorting> {
    let text = text.unwrap_or("-started");
    let (descending, name) = match text.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, text),
    };
    let axis = match name {
        "started" => TimeAxis::Started,
        "paid" => TimeAxis::Paid,
        "updated" => TimeAxis::Updated,
        _ => {
            return Err(ApiError::bad_input(
                "sorting",
                "-started, started, -paid, paid, -updated, updated 중 하나여야 합니다.",
                "must be one of -started, started, -paid, paid, -updated, updated.",
            ))
        }
    };
    Ok(Sorting { axis, descending })
}

/// A status path segment: `ready|paid|cancelled|failed`, or (with `allow_all`) `all`.
/// `None` means no filter.
pub fn parse_status(text: Option<&str>, allow_all: bool) -> ApiResult<Option<WireStatus>> {
    match text {
        None => Ok(None),
        Some("all") if allow_all => Ok(None),
        Some(text) => WireStatus::parse(text).map(Some).ok_or_else(|| {
            ApiError::bad_input(
                "payment_status",
                "ready, paid, cancelled, failed 중 하나여야 합니다.",
                "must be one of ready, paid, cancelled, failed.",
            )
        }),
    }
}

fn statuses(status: Option<WireStatus>) -> Vec<VbankStatus> {
    status.map(|status| status.internal().to_vec()).unwrap_or_default()
}

/// `GET /payments/{imp_uid}/events`: the history of one of the merchant's payments.
pub async fn events(state: &AppState, merchant_id: i64, imp_uid: &str) -> ApiResult<Vec<vbank_store::PaymentEvent>> {
    let payment = by_imp_uid(state, merchant_id, imp_uid).await?;
    Ok(state.store.payment_events(&payment.imp_uid).await?)
}

/// `GET /payments/{imp_uid}`.
pub async fn by_imp_uid(state: &AppState, merchant_id: i64, imp_uid: &str) -> ApiResult<Payment> {
    let imp_uid = ImpUid::parse(imp_uid).ok_or(ApiError::PaymentNotFound)?;
    state
        .store
        .payment(merchant_id, &imp_uid)
        .await?
        .ok_or(ApiError::PaymentNotFound)
}

/// `GET /payments?imp_uid[]=..&merchant_uid[]=..`: the payments found, and whether
/// every id was found. A merchant_uid gives its latest payment.
pub async fn by_uids(
    state: &AppState,
    merchant_id: i64,
    imp_uids: Vec<String>,
    merchant_uids: Vec<String>,
) -> ApiResult<(Vec<Payment>, bool)> {
    let requested = imp_uids.len() + merchant_uids.len();
    if requested == 0 {
        return Err(ApiError::bad_input(
            "imp_uid[]",
            "imp_uid[] 또는 merchant_uid[] 가 필요합니다.",
            "give at least one imp_uid[] or merchant_uid[].",
        ));
    }
    if requested > MAX_MULTI_LOOKUP {
        return Err(ApiError::bad_input(
            "imp_uid[]",
            format!("한 번에 {MAX_MULTI_LOOKUP}건까지 조회할 수 있습니다."),
            format!("at most {MAX_MULTI_LOOKUP} ids per request."),
        ));
    }
    let stored = state
        .store
        .payments_by_uids(merchant_id, &imp_uids, &merchant_uids)
        .await?;
    let mut found: Vec<Payment> = Vec::new();
    let mut missing = 0;
    for imp_uid in &imp_uids {
        match stored.iter().find(|payment| payment.imp_uid.as_str() == imp_uid) {
            Some(payment) => push_unique(&mut found, payment),
            None => missing += 1,
        }
    }
    for merchant_uid in &merchant_uids {
        // `stored` is newest first: the first match is the latest payment.
        match stored
            .iter()
            .find(|payment| payment.merchant_uid.as_str() == merchant_uid)
        {
            Some(payment) => push_unique(&mut found, payment),
            None => missing += 1,
        }
    }
    if found.is_empty() {
        return Err(ApiError::NoPaymentsFound);
    }
    Ok((found, missing == 0))
}

fn push_unique(found: &mut Vec<Payment>, payment: &Payment) {
    if !found.iter().any(|existing| existing.imp_uid == payment.imp_uid) {
        found.push(payment.clone());
    }
}

/// `GET /payments/find/{merchant_uid}[/{status}]`: the first payment by `sorting`.
pub async fn find_one(
    state: &AppState,
    merchant_id: i64,
    merchant_uid: &str,
    status: Option<WireStatus>,
    sorting: Sorting,
) -> ApiResult<Payment> {
    let filter = PaymentFilter {
        merchant_uid: Some(merchant_uid.to_owned()),
        statuses: statuses(status),
        window: None,
        sorting,
        limit: 1,
        offset: 0,
    };
    let (_, mut payments) = state.store.list_payments(merchant_id, &filter).await?;
    payments.pop().ok_or(ApiError::PaymentNotFound)
}

/// A page of payments, as i'mport pages them.
pub struct Page {
    pub total: u64,
    pub previous: u32,
    pub next: u32,
    pub list: Vec<Payment>,
}

pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn parse(page: Option<i64>, limit: Option<i64>) -> ApiResult<PageRequest> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(20);
        if !(1..=i64::from(u32::MAX)).contains(&page) {
            return Err(ApiError::bad_input(
                "page",
                "1 이상의 정수여야 합니다.",
                "must be an integer of at least 1.",
            ));
        }
        if !(1..=i64::from(MAX_PAGE_SIZE)).contains(&limit) {
            return Err(ApiError::bad_input(
                "limit",
                format!("1 이상 {MAX_PAGE_SIZE} 이하여야 합니다."),
                format!("must be between 1 and {MAX_PAGE_SIZE}."),
            ));
        }
        Ok(PageRequest {
            page: page as u32,
            limit: limit as u32,
        })
    }
}

async fn page_of(
    state: &AppState,
    merchant_id: i64,
    mut filter: PaymentFilter,
    request: PageRequest,
) -> ApiResult<Page> {
    filter.limit = request.limit;
    filter.offset = u64::from(request.page - 1) * u64::from(request.limit);
    let (total, list) = state.store.list_payments(merchant_id, &filter).await?;
    if request.page > 1 && filter.offset >= total {
        return Err(ApiError::bad_input(
            "page",
            "조회 가능한 페이지 범위를 벗어났습니다.",
            "is beyond the last page.",
        ));
    }
    Ok(Page {
        total,
        previous: request.page - 1,
        next: if filter.offset + u64::from(request.limit) < total {
            request.page + 1
        } else {
            0
        },
        list,
    })
}

/// `GET /payments/findAll/{merchant_uid}[/{status}]`.
pub async fn find_all(
    state: &AppState,
    merchant_id: i64,
    merchant_uid: &str,
    status: Option<WireStatus>,
    sorting: Sorting,
    request: PageRequest,
) -> ApiResult<Page> {
    let filter = PaymentFilter {
        merchant_uid: Some(merchant_uid.to_owned()),
        statuses: statuses(status),
        window: None,
        sorting,
        limit: 0,
        offset: 0,
    };
    let page = page_of(state, merchant_id, filter, request).await?;
    if page.total == 0 {
        return Err(ApiError::PaymentNotFound);
    }
    Ok(page)
}

/// `GET /payments/status/{status}`: a window of at most 90 days on the status' own
/// time axis (ready: started, paid: paid, cancelled: cancelled, failed: failed).
pub async fn by_status(
    state: &AppState,
    merchant_id: i64,
    status: Option<WireStatus>,
    from: Option<i64>,
    to: Option<i64>,
    sorting: Sorting,
    request: PageRequest,
) -> ApiResult<Page> {
    let to = to.unwrap_or_else(|| state.clock.now());
    let from = from.unwrap_or(to - NINETY_DAYS);
    if from > to {
        return Err(ApiError::bad_input(
            "from",
            "to 보다 이후일 수 없습니다.",
            "must not be after to.",
        ));
    }
    if to - from > NINETY_DAYS {
        return Err(ApiError::BadInput {
            field: "from",
            problem: Text::new("조회 기간은 최대 90일입니다.", "the window is at most 90 days."),
        });
    }
    let axis = match status {
        None | Some(WireStatus::Ready) => TimeAxis::Started,
        Some(WireStatus::Paid) => TimeAxis::Paid,
        Some(WireStatus::Cancelled) => TimeAxis::Cancelled,
        Some(WireStatus::Failed) => TimeAxis::Failed,
    };
    let filter = PaymentFilter {
        merchant_uid: None,
        statuses: statuses(status),
        window: Some((axis, from, to)),
        sorting,
        limit: 0,
        offset: 0,
    };
    page_of(state, merchant_id, filter, request).await
}
